"""MMSA feature pickles (``aligned_50.pkl``, ``unaligned_50.pkl``, ``unaligned_39.pkl``).

Layout (CMU-MOSI, CMU-MOSEI, CH-SIMS as distributed for the MMSA framework): a pickled dict
``{"train", "valid", "test"[, "config"]}``; each split is a dict of arrays sharing the first
dimension N: ``text`` (N, Lt, 768) BERT features, ``text_bert`` (N, 3, Lt) token ids /
attention mask / segment ids, ``audio`` (N, La, Da), ``vision`` (N, Lv, Dv), ``audio_lengths``
and ``vision_lengths`` (unaligned files), ``regression_labels``, ``classification_labels``,
``raw_text``, ``id``, ``annotations`` and, for SIMS, ``regression_labels_T/A/V``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.data.formats import _common as c
from infofusion.data.safe_pickle import safe_load
from infofusion.errors import ConfigError, FormatError
from infofusion.registry import register

SPLITS = ("train", "valid", "test")
# label ranges of the protocols: MOSI/MOSEI sentiment in [-3, 3], CH-SIMS in [-1, 1]
LABEL_RANGE = {"mmsa": (-3.0, 3.0), "sims": (-1.0, 1.0)}
LAZY_BYTES = 2**20


def _variant(data: dict[str, Any], path: Path, dataset: str | None) -> str:
    if dataset is not None:
        d = dataset.lower()
        if d not in ("mosi", "mosei", "sims"):
            raise ConfigError(f"dataset must be 'mosi', 'mosei' or 'sims', got {dataset!r}")
        return d
    if "regression_labels_T" in data["train"] or "sims" in str(path).lower():
        return "sims"
    a = data["train"].get("audio")
    shape = getattr(a, "shape", ())
    if len(shape) == 3 and shape[-1] == 74:
        return "mosei"
    return "mosi"


@register(
    "dataset",
    "mmsa",
    help="MMSA feature pickle, MOSI/MOSEI/SIMS aligned or unaligned (mmsa:/path/aligned_50.pkl)",
)
def load_mmsa(
    arg: str | None,
    *,
    text: str = "text",
    label: str = "regression",
    dataset: str | None = None,
    clean_neginf: tuple[str, ...] = ("audio", "vision"),
    name: str | None = None,
) -> MultimodalDataset:
    """MMSA feature pickle (MOSI/MOSEI/SIMS, aligned or unaligned): ``mmsa:/path/aligned_50.pkl``.

    Args:
        arg: path of the pickle.
        text: ``"text"`` for the (N, Lt, 768) BERT features, ``"text_bert"`` for the token
            rows, read as an (N, Lt, 3) sequence of (input_id, attention_mask, segment_id).
        label: ``"regression"`` (sentiment score) or ``"classification"`` (3 classes:
            0 negative, 1 neutral, 2 positive).
        dataset: ``"mosi"``, ``"mosei"`` or ``"sims"``; inferred when None (SIMS files carry
            unimodal labels). SIMS labels must lie in [-1, 1], MOSI/MOSEI in [-3, 3].
        clean_neginf: modalities whose ``-inf`` entries are set to 0 (as MMSA does for audio);
            the count is recorded in ``info["neginf_replaced"]``.
        name: dataset name (default: ``<variant>-<file stem>``).

    Returns:
        Dataset with modalities ``text`` (N, Lt, Dt), ``audio`` (N, La, Da), ``vision``
        (N, Lv, Dv), splits train/valid/test in file order, ``ids`` from ``id``, and
        ``sample_meta`` ``raw_text``, ``annotation`` (and SIMS ``label_T/A/V``).
        ``info["protocol"]`` is ``"mmsa"`` (MOSI/MOSEI), ``"sims"`` or ``"classification"``.

    Raises:
        FormatError: missing split or key, inconsistent counts or shapes, non-numeric features,
            labels outside the protocol's range, truncated file, NaN/+inf features.
        UnsafePickleError: the pickle references anything but containers and numpy arrays.
    """
    path = c.require_path(arg, "mmsa")
    if text not in ("text", "text_bert"):
        raise ConfigError(f"text must be 'text' or 'text_bert', got {text!r}")
    if label not in ("regression", "classification"):
        raise ConfigError(f"label must be 'regression' or 'classification', got {label!r}")
    # large arrays stay in the file until they are read into their final place
    data = c.require_mapping(
        safe_load(path, lazy_min_bytes=LAZY_BYTES), path, None, "a dict of splits"
    )
    splits = {
        s: c.require_mapping(c.require_key(data, s, path), path, s, "a split") for s in SPLITS
    }
    variant = _variant(splits, path, dataset)
    label_key = "regression_labels" if label == "regression" else "classification_labels"
    protocol = (
        ("sims" if variant == "sims" else "mmsa") if label == "regression" else "classification"
    )

    # -- per-split checks: keys, counts, dtypes, label ranges (keys named "split/key")
    sizes: dict[str, int] = {}
    labels: list[np.ndarray] = []
    for s, d in splits.items():
        y = c.numeric_array(c.require_key(d, label_key, path, f"{s}/"), path, f"{s}/{label_key}")
        y = y.reshape(len(y), -1) if y.ndim > 1 else y
        if y.ndim != 1 and y.shape[1] != 1:
            raise FormatError(
                f"expected one label per sample, got shape {y.shape}",
                path=path,
                key=f"{s}/{label_key}",
            )
        y = y.reshape(-1)
        n = len(y)
        if n == 0:
            raise FormatError("split is empty", path=path, key=s)
        if label == "regression":
            lo, hi = LABEL_RANGE[protocol]
            c.check_label_range(y.astype(np.float64), lo, hi, path, f"{s}/{label_key}", protocol)
        else:
            bad = ~np.isin(y, (0, 1, 2))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise FormatError(
                    f"label {y[i]!r} at index {i} is not a class in {{0, 1, 2}}",
                    path=path,
                    key=f"{s}/{label_key}",
                )
        sizes[s] = n
        labels.append(y)
        for k in (text, "audio", "vision"):
            arr = c.numeric_array(
                c.require_key(d, k, path, f"{s}/"), path, f"{s}/{k}", ndim=(3,), lazy=True
            )
            c.check_count(arr, n, path, f"{s}/{k}", f"{s}/{label_key}")
        for k in ("audio_lengths", "vision_lengths", "text_bert", "id", "raw_text", "annotations"):
            if k in d:
                c.check_count(d[k], n, path, f"{s}/{k}", f"{s}/{label_key}")

    info: dict[str, Any] = {
        "format": "mmsa",
        "source": str(path),
        "protocol": protocol,
        "variant": variant,
        "text_features": text,
    }
    # -- modalities: one float32 array each, splits stacked in order. Large arrays were left in
    # the file (LazyArray) and are read straight into their rows, so the data is copied once;
    # in-memory parts are dropped from the split dicts as soon as they are copied.
    modalities: dict[str, np.ndarray] = {}
    neginf: dict[str, int] = {}
    for mod, key in (("text", text), ("audio", "audio"), ("vision", "vision")):
        parts = [splits[s][key] for s in SPLITS]
        if key != "text_bert":  # text_bert is still needed for the text lengths below
            for s in SPLITS:
                if isinstance(splits[s], dict):
                    splits[s].pop(key, None)
        if key == "text_bert":
            parts = [np.asarray(p).transpose(0, 2, 1) for p in parts]  # (N, 3, Lt) -> (N, Lt, 3)
        arr = c.concat(parts, path, [f"{s}/{key}" for s in SPLITS])
        if mod in clean_neginf:
            neginf[mod] = c.replace_neginf(arr)
        modalities[mod] = arr
    info["neginf_replaced"] = int(sum(neginf.values()))
    info["neginf_by_modality"] = neginf

    # -- lengths: unaligned files carry audio/vision lengths; text lengths come from the BERT
    # attention mask when present. Aligned files have neither: the full 50 steps are used.
    lengths: dict[str, np.ndarray] = {}
    clipped = 0
    for mod, key in (("audio", "audio_lengths"), ("vision", "vision_lengths")):
        if all(key in splits[s] for s in SPLITS):
            ln = np.concatenate(
                [c.numeric_array(splits[s][key], path, f"{s}/{key}", ndim=(1,)) for s in SPLITS]
            )
            lengths[mod], k = _fit_lengths(ln, modalities[mod].shape[1], path, key)
            clipped += k
    if all("text_bert" in splits[s] for s in SPLITS):
        mask = np.concatenate([np.asarray(splits[s]["text_bert"])[:, 1, :] for s in SPLITS])
        ln = np.rint(mask.astype(np.float64)).sum(axis=1).astype(np.int64)
        if modalities["text"].shape[1] == mask.shape[1]:
            lengths["text"], k = _fit_lengths(ln, modalities["text"].shape[1], path, "text_bert")
            clipped += k
    info["aligned"] = int("audio" not in lengths)
    info["lengths_clipped"] = clipped

    ids = None
    if all("id" in splits[s] for s in SPLITS):
        ids = np.concatenate(
            [c.to_str_array(splits[s]["id"], sizes[s], path, f"{s}/id") for s in SPLITS]
        )
        ids, info["ids_deduplicated"] = c.unique_ids(ids)
    meta: dict[str, np.ndarray] = {}
    for key, mkey in (("raw_text", "raw_text"), ("annotations", "annotation")):
        if all(key in splits[s] for s in SPLITS):
            meta[mkey] = np.concatenate(
                [c.to_str_array(splits[s][key], sizes[s], path, f"{s}/{key}") for s in SPLITS]
            )
    for m in "TAV":
        key = f"regression_labels_{m}"
        if all(key in splits[s] for s in SPLITS):
            meta[f"label_{m}"] = np.concatenate(
                [c.numeric_array(splits[s][key], path, f"{s}/{key}").reshape(-1) for s in SPLITS]
            ).astype(np.float32)
    y = np.concatenate(labels)
    y = y.astype(np.float32) if label == "regression" else y.astype(np.int64)
    del splits, data
    return c.build(
        path,
        sizes=sizes,
        keys={"text": text},
        modalities=modalities,
        target=y,
        task=label,
        lengths=lengths,
        splits=c.split_positions(sizes),
        ids=ids,
        n_classes=3 if label == "classification" else None,
        name=name or f"{variant}-{path.stem}",
        sample_meta=meta,
        info=info,
    )


def _fit_lengths(ln: np.ndarray, t: int, path: Path, key: str) -> tuple[np.ndarray, int]:
    """Lengths as int64 in [1, t]: 0 becomes 1 (one zero step), > t is clipped to t."""
    if ln.dtype.kind == "f" and not np.all(ln == np.round(ln)):
        raise FormatError("lengths must be whole numbers", path=path, key=key)
    ln = ln.astype(np.int64)
    if (ln < 0).any():
        i = int(np.flatnonzero(ln < 0)[0])
        raise FormatError(f"negative length {int(ln[i])} at index {i}", path=path, key=key)
    changed = int(((ln < 1) | (ln > t)).sum())
    return np.clip(ln, 1, t), changed
