"""MUStARD in its original layout (sarcasm detection, 690 utterances from TV shows).

Files, looked up under the given directory (also under ``data/`` and
``features/utterances_final/``), or given one by one:

* ``sarcasm_data.json``: id -> {utterance, speaker, context[], context_speakers[], show,
  sarcasm: bool}. Its key order defines the sample order the fold indices refer to.
* ``audio_features.p``: Python 2 pickle (read with latin1), id -> (283, T) array.
* ``resnet_pool5.hdf5``: one dataset per id, (frames, 2048) ResNet pool5 features.
* ``split_indices.p``: Python 2 pickle, 5 stratified folds of (train indices, test indices).

Two evaluation setups: one of the 5 folds (speaker-dependent), or the speaker-independent split
(utterances from FRIENDS are the test set, all others train).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.data.formats import _common as c
from infofusion.data.safe_pickle import safe_load
from infofusion.errors import ConfigError, FormatError
from infofusion.registry import register

_SUBDIRS = ("", "data", "features/utterances_final", "data/features/utterances_final")
FILES = {
    "json": "sarcasm_data.json",
    "audio": "audio_features.p",
    "video": "resnet_pool5.hdf5",
    "folds": "split_indices.p",
}
TEST_SHOW = "FRIENDS"  # speaker-independent setup: this show is the test set


def _find(root: Path, fname: str, given: str | None) -> Path:
    if given is not None:
        p = Path(given)
        if not p.exists():
            raise FormatError("no such file", path=p)
        return p
    for sub in _SUBDIRS:
        p = root / sub / fname
        if p.is_file():
            return p
    raise FormatError(
        f"missing file '{fname}' (looked in {', '.join(str(root / s) for s in _SUBDIRS)})",
        path=root,
        key=fname,
    )


def _pool_or_pad(seqs: list[np.ndarray], pool: str) -> tuple[np.ndarray, np.ndarray | None]:
    if pool == "mean":
        return np.stack([s.mean(axis=0) for s in seqs]).astype(np.float32), None
    return c.pad_sequences(seqs)


@register(
    "dataset",
    "mustard",
    help="MUStARD original files: json, latin1 audio pickle, HDF5 video, folds (mustard:DIR)",
)
def load_mustard(
    arg: str | None,
    *,
    split: str = "fold",
    fold: int = 0,
    pool: str = "none",
    valid_fraction: float = 0.1,
    seed: int = 0,
    json_path: str | None = None,
    audio_path: str | None = None,
    video_path: str | None = None,
    folds_path: str | None = None,
    name: str | None = None,
) -> MultimodalDataset:
    """MUStARD original files (json + latin1 audio pickle + HDF5 video + folds): ``mustard:DIR``.

    Args:
        arg: directory holding the files (the repository root, its ``data/`` folder, or a
            folder with all four files).
        split: ``"fold"`` (one of the 5 speaker-dependent folds) or ``"speaker_independent"``
            (FRIENDS utterances are the test set).
        fold: which fold, 0..4, when ``split="fold"``.
        pool: ``"none"`` keeps audio (N, T, 283) and video (N, F, 2048) as padded sequences
            with lengths; ``"mean"`` averages over time as the reference code does.
        valid_fraction: share of train carved out (stratified) as ``valid``; the reference
            has no validation split. 0 disables.
        seed: seed of that carving, recorded in ``info["valid_seed"]``.
        json_path, audio_path, video_path, folds_path: explicit file paths.
        name: dataset name.

    Returns:
        Classification dataset (1 = sarcastic) with modalities ``audio`` and ``video``, ids from
        the json keys, and ``sample_meta`` ``raw_text`` (the utterance), ``speaker``, ``show``
        and ``context`` (context utterances joined by newlines). ``info["protocol"] ==
        "classification"`` with ``info["f1_average"] == "weighted"`` (MUStARD reports weighted
        precision / recall / F1).

    Raises:
        FormatError: missing file, id absent from a feature file, malformed entry, bad fold
            indices, truncated file.
    """
    root = c.require_path(arg, "mustard", directory=True)
    if split not in ("fold", "speaker_independent"):
        raise ConfigError(f"split must be 'fold' or 'speaker_independent', got {split!r}")
    if pool not in ("none", "mean"):
        raise ConfigError(f"pool must be 'none' or 'mean', got {pool!r}")
    # find every file first, so a missing one is reported before anything heavy is read
    jpath = _find(root, FILES["json"], json_path)
    apath = _find(root, FILES["audio"], audio_path)
    vpath = _find(root, FILES["video"], video_path)
    fpath = _find(root, FILES["folds"], folds_path) if split == "fold" else None
    try:
        with open(jpath, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"invalid JSON ({exc})", path=jpath) from exc
    meta = c.require_mapping(meta, jpath, None, "an id -> utterance mapping")
    ids = list(meta)
    if not ids:
        raise FormatError("no utterances", path=jpath)
    text, speaker, show, context, y = [], [], [], [], []
    for i in ids:
        entry = c.require_mapping(meta[i], jpath, i, "an utterance record")
        for k in ("utterance", "speaker", "show", "sarcasm"):
            c.require_key(entry, k, jpath, f"{i}/")
        if not isinstance(entry["sarcasm"], (bool, int)) or entry["sarcasm"] not in (0, 1):
            raise FormatError(
                f"sarcasm must be true/false, got {entry['sarcasm']!r}",
                path=jpath,
                key=f"{i}/sarcasm",
            )
        text.append(str(entry["utterance"]))
        speaker.append(str(entry["speaker"]))
        show.append(str(entry["show"]))
        context.append("\n".join(map(str, entry.get("context", []))))
        y.append(int(entry["sarcasm"]))

    audio_raw = c.require_mapping(safe_load(apath), apath, None, "an id -> array mapping")
    audio = []
    for i in ids:
        a = c.numeric_array(c.require_key(audio_raw, i, apath, "id "), apath, i, ndim=(2,))
        audio.append(a.T)  # (283, T) -> (T, 283)
    if len({a.shape[1] for a in audio}) != 1:
        raise FormatError("audio feature dimension differs between utterances", path=apath)
    del audio_raw

    h5py = c.require_h5py()
    video = []
    try:
        with h5py.File(vpath, "r") as fh:
            for i in ids:
                if i not in fh:
                    raise FormatError("missing dataset for utterance id", path=vpath, key=i)
                video.append(c.numeric_array(fh[i][()], vpath, i, ndim=(2,)))
    except OSError as exc:
        raise FormatError(f"cannot read HDF5 ({exc})", path=vpath) from exc
    if len({v.shape[1] for v in video}) != 1:
        raise FormatError("video feature dimension differs between utterances", path=vpath)

    n = len(ids)
    info: dict[str, Any] = {
        "format": "mustard",
        "source": str(root),
        "protocol": "classification",
        "f1_average": "weighted",
        "split_setup": split,
    }
    if fpath is not None:
        folds = safe_load(fpath)
        if not isinstance(folds, (list, tuple)) or len(folds) == 0:
            raise FormatError("expected a list of (train, test) index pairs", path=fpath)
        if not 0 <= int(fold) < len(folds):
            raise ConfigError(f"fold must be in 0..{len(folds) - 1}, got {fold}")
        try:
            tr, te = folds[int(fold)]
        except (TypeError, ValueError):
            raise FormatError(
                "expected a (train, test) pair", path=fpath, key=f"fold {fold}"
            ) from None
        tr = c.numeric_array(tr, fpath, f"fold {fold}/train", ndim=(1,)).astype(np.int64)
        te = c.numeric_array(te, fpath, f"fold {fold}/test", ndim=(1,)).astype(np.int64)
        for arr, part in ((tr, "train"), (te, "test")):
            if len(arr) == 0 or arr.min() < 0 or arr.max() >= n:
                raise FormatError(
                    f"indices must be in [0, {n}) (the json has {n} utterances)",
                    path=fpath,
                    key=f"fold {fold}/{part}",
                )
        if np.intersect1d(tr, te).size:
            raise FormatError("train and test indices overlap", path=fpath, key=f"fold {fold}")
        splits = {"train": tr, "test": te}
        info["fold"] = int(fold)
    else:
        show_arr = np.array(show)
        splits = {
            "train": np.flatnonzero(show_arr != TEST_SHOW),
            "test": np.flatnonzero(show_arr == TEST_SHOW),
        }
        if not len(splits["test"]) or not len(splits["train"]):
            raise FormatError(
                f"speaker-independent split needs utterances from {TEST_SHOW} and from other shows",
                path=jpath,
            )

    a_arr, a_len = _pool_or_pad(audio, pool)
    v_arr, v_len = _pool_or_pad(video, pool)
    lengths = {} if pool == "mean" else {"audio": a_len, "video": v_len}
    ds = c.build(
        root,
        modalities={"audio": a_arr, "video": v_arr},
        target=np.asarray(y, dtype=np.int64),
        task="classification",
        lengths=lengths,
        splits=splits,
        ids=np.array(ids, dtype=object),
        n_classes=2,
        name=name or (f"mustard-fold{fold}" if split == "fold" else "mustard-speaker-independent"),
        sample_meta={
            "raw_text": np.array(text, dtype=object),
            "speaker": np.array(speaker, dtype=object),
            "show": np.array(show, dtype=object),
            "context": np.array(context, dtype=object),
        },
        info=info,
    )
    return c.carve_valid(ds, valid_fraction, seed)
