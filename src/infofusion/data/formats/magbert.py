"""MAG-BERT pickles (``mosi.pkl``, ``mosei.pkl``; also read by ITHP).

Layout: a pickled dict ``{"train", "dev", "test"}`` (note ``dev``); each split is a list of
``((words, visual, acoustic), label, segment_id)`` with ``words`` a list of n_words strings,
``visual`` (n_words, 47 | 35) and ``acoustic`` (n_words, 74) word-aligned features, ``label`` a
float (often stored as a (1, 1) array) and ``segment_id`` a string.

The per-sample lists become padded ``(N, T, D)`` arrays with lengths; words are kept as raw text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.data.formats import _common as c
from infofusion.data.safe_pickle import safe_load
from infofusion.errors import FormatError
from infofusion.registry import register

# file split name -> container split name
SPLITS = {"train": "train", "dev": "valid", "test": "test"}


def _read_split(items: Any, path: Path, s: str) -> tuple[list, list, list, list, list]:
    if not isinstance(items, (list, tuple)):
        raise FormatError(
            f"expected a list of samples, found {type(items).__name__}", path=path, key=s
        )
    if len(items) == 0:
        raise FormatError("split is empty", path=path, key=s)
    words, visual, acoustic, labels, ids = [], [], [], [], []
    for i, item in enumerate(items):
        key = f"{s}[{i}]"
        try:
            (w, v, a), y, sid = item
        except (TypeError, ValueError):
            raise FormatError(
                "expected ((words, visual, acoustic), label, segment_id)", path=path, key=key
            ) from None
        v = c.numeric_array(v, path, f"{key}/visual", ndim=(2,))
        a = c.numeric_array(a, path, f"{key}/acoustic", ndim=(2,))
        if not isinstance(w, (list, tuple, np.ndarray)):
            raise FormatError(
                f"words must be a list, found {type(w).__name__}", path=path, key=f"{key}/words"
            )
        if not (len(w) == len(v) == len(a)):
            raise FormatError(
                f"inconsistent word counts: {len(w)} words, visual {len(v)}, acoustic {len(a)} "
                "(features must be word-aligned)",
                path=path,
                key=key,
            )
        yv = c.numeric_array(y, path, f"{key}/label")
        if yv.size != 1:
            raise FormatError(
                f"expected one label, got shape {yv.shape}", path=path, key=f"{key}/label"
            )
        words.append(" ".join(c._as_text(t) for t in w))
        visual.append(v)
        acoustic.append(a)
        labels.append(float(yv.reshape(-1)[0]))
        ids.append(c._as_text(sid))
    return words, visual, acoustic, labels, ids


def _stack(
    seqs: list[np.ndarray], path: Path, key: str, max_len: int | None
) -> tuple[np.ndarray, np.ndarray]:
    dims = {s.shape[1] for s in seqs}
    if len(dims) != 1:
        raise FormatError(
            f"feature dimension differs between samples: {sorted(dims)}", path=path, key=key
        )
    return c.pad_sequences(seqs, max_len=max_len)


@register(
    "dataset",
    "magbert",
    help="MAG-BERT / ITHP word-aligned pickle (magbert:/path/mosi.pkl)",
)
def load_magbert(
    arg: str | None,
    *,
    max_len: int | None = None,
    clean_neginf: tuple[str, ...] = ("audio", "vision"),
    name: str | None = None,
) -> MultimodalDataset:
    """MAG-BERT / ITHP pickle (word-aligned MOSI/MOSEI): ``magbert:/path/mosi.pkl``.

    Args:
        arg: path of the pickle.
        max_len: keep at most this many words per sample (default: the longest sample).
        clean_neginf: modalities whose ``-inf`` entries are set to 0 (count in
            ``info["neginf_replaced"]``).
        name: dataset name (default: ``magbert-<file stem>``).

    Returns:
        Dataset with word-aligned ``vision`` (N, T, 47 | 35) and ``audio`` (N, T, 74)
        sequences with lengths (number of words), regression target in [-3, 3], splits
        train/valid/test (``dev`` becomes ``valid``), ``ids`` from ``segment_id`` and the words
        joined by spaces in ``sample_meta["raw_text"]`` (text features are computed from them
        by a text encoder, as MAG-BERT does). ``info["protocol"] == "magbert"``.

    Raises:
        FormatError: missing split, malformed sample (key ``split[i]``), unequal word counts,
            labels outside [-3, 3], truncated file.
    """
    path = c.require_path(arg, "magbert")
    data = c.require_mapping(safe_load(path), path, None, "a dict of splits")
    words, visual, acoustic, labels, ids, sizes = [], [], [], [], [], {}
    for s, target in SPLITS.items():
        w, v, a, y, i = _read_split(c.require_key(data, s, path), path, s)
        c.check_label_range(np.asarray(y), -3.0, 3.0, path, f"{s}/label", "magbert")
        sizes[target] = len(y)
        words += w
        visual += v
        acoustic += a
        labels += y
        ids += i
    del data
    vis, vis_len = _stack(visual, path, "visual", max_len)
    del visual
    aud, aud_len = _stack(acoustic, path, "acoustic", max_len)
    del acoustic
    info: dict[str, Any] = {"format": "magbert", "source": str(path), "protocol": "magbert"}
    neginf = {}
    for mod, arr in (("vision", vis), ("audio", aud)):
        if mod in clean_neginf:
            neginf[mod] = c.replace_neginf(arr)
    info["neginf_replaced"] = int(sum(neginf.values()))
    info["neginf_by_modality"] = neginf
    ids_arr, info["ids_deduplicated"] = c.unique_ids(np.array(ids, dtype=object))
    return c.build(
        path,
        sizes=sizes,
        keys={"vision": "visual", "audio": "acoustic"},
        modalities={"vision": vis, "audio": aud},
        target=np.asarray(labels, dtype=np.float32),
        task="regression",
        lengths={"vision": vis_len, "audio": aud_len},
        splits=c.split_positions(sizes),
        ids=ids_arr,
        name=name or f"magbert-{path.stem}",
        sample_meta={"raw_text": np.array(words, dtype=object)},
        info=info,
    )
