"""MulT / MultiBench affect pickles (``mosi_data.pkl``, ``mosei_senti_data.pkl``,
``sarcasm.pkl``, ``humor.pkl``).

Layout: ``{split: {"text": (N, 50, 300) GloVe, "audio": (N, T, Da), "vision": (N, T, Dv),
"labels": (N, 1, 1), "id": ...}}`` with splits ``train``, ``valid``, ``test``. MultiBench's
MUStARD (``sarcasm.pkl``) and UR-FUNNY (``humor.pkl``) use the same keys with binary labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.data.formats import _common as c
from infofusion.data.safe_pickle import safe_load
from infofusion.errors import ConfigError, FormatError
from infofusion.registry import register

SPLITS = ("train", "valid", "test")
MODALITIES = ("text", "audio", "vision")
_BINARY_FILES = ("sarcasm", "humor")


@register(
    "dataset",
    "mult",
    help="MulT / MultiBench affect pickle incl. sarcasm.pkl, humor.pkl (mult:/path/mosi_data.pkl)",
)
def load_mult(
    arg: str | None,
    *,
    task: str = "auto",
    clean_neginf: tuple[str, ...] = ("text", "audio", "vision"),
    name: str | None = None,
) -> MultimodalDataset:
    """MulT / MultiBench affect pickle (MOSI, MOSEI, sarcasm, humor): ``mult:/path/mosi_data.pkl``.

    Args:
        arg: path of the pickle.
        task: ``"regression"`` (sentiment in [-3, 3]), ``"classification"`` (binary labels,
            0/1 or -1/1, mapped to 0/1) or ``"auto"``: classification for ``sarcasm.pkl`` /
            ``humor.pkl`` or when every label is binary, regression otherwise.
        clean_neginf: modalities whose ``-inf`` entries are set to 0 (as MultiBench does).
        name: dataset name (default: ``mult-<file stem>``).

    Returns:
        Dataset with ``text`` (N, 50, 300), ``audio``, ``vision`` padded sequences (no lengths
        in this format), splits train/valid/test and ``ids`` from ``id`` (2-d ids joined by
        ``_``). ``info["protocol"]`` is ``"mult"`` (regression) or ``"classification"``.

    Raises:
        FormatError: missing split or key, inconsistent counts, multi-label targets (IEMOCAP,
            unsupported), labels outside the range, non-numeric features, truncated file.
    """
    path = c.require_path(arg, "mult")
    if task not in ("auto", "regression", "classification"):
        raise ConfigError(f"task must be 'auto', 'regression' or 'classification', got {task!r}")
    # large arrays stay in the file until they are read into their final place
    data = c.require_mapping(safe_load(path, lazy_min_bytes=2**20), path, None, "a dict of splits")
    splits = {
        s: c.require_mapping(c.require_key(data, s, path), path, s, "a split") for s in SPLITS
    }
    sizes: dict[str, int] = {}
    labels = []
    for s, d in splits.items():
        y = c.numeric_array(c.require_key(d, "labels", path, f"{s}/"), path, f"{s}/labels")
        n = len(y)
        if n == 0:
            raise FormatError("split is empty", path=path, key=s)
        if y.size != n:
            raise FormatError(
                f"expected one label per sample ((N, 1, 1)), got shape {y.shape}; multi-label "
                "targets are not supported",
                path=path,
                key=f"{s}/labels",
            )
        labels.append(y.reshape(-1))
        sizes[s] = n
        for m in MODALITIES:
            arr = c.numeric_array(
                c.require_key(d, m, path, f"{s}/"), path, f"{s}/{m}", ndim=(2, 3), lazy=True
            )
            c.check_count(arr, n, path, f"{s}/{m}", f"{s}/labels")
        if "id" in d:
            c.check_count(d["id"], n, path, f"{s}/id", f"{s}/labels")
    y = np.concatenate(labels).astype(np.float64)
    if not np.isfinite(y).all():
        s, i = c.locate(int(np.flatnonzero(~np.isfinite(y))[0]), sizes)
        raise FormatError(f"label at index {i} is not finite", path=path, key=f"{s}/labels")
    values = set(np.unique(y).tolist())
    binary = values <= {0.0, 1.0} or values <= {-1.0, 1.0}
    if task == "auto":
        task = "classification" if (path.stem.lower() in _BINARY_FILES or binary) else "regression"
    info: dict[str, Any] = {"format": "mult", "source": str(path)}
    if task == "classification":
        if not binary:
            bad = int(np.flatnonzero(~np.isin(y, (0.0, 1.0)))[0])
            s, i = c.locate(bad, sizes)
            raise FormatError(
                f"label {y[bad]:g} at index {i} is not binary (0/1 or -1/1)",
                path=path,
                key=f"{s}/labels",
            )
        target = (y > 0).astype(np.int64)
        info.update(protocol="classification", label_values="-1/1" if -1.0 in values else "0/1")
    else:
        pos = 0
        for s, k in sizes.items():
            c.check_label_range(y[pos : pos + k], -3.0, 3.0, path, f"{s}/labels", "mult")
            pos += k
        target = y.astype(np.float32)
        info["protocol"] = "mult"

    modalities: dict[str, np.ndarray] = {}
    neginf: dict[str, int] = {}
    for m in MODALITIES:
        parts = [splits[s].pop(m) for s in SPLITS]
        arr = c.concat(parts, path, [f"{s}/{m}" for s in SPLITS])
        if m in clean_neginf:
            neginf[m] = c.replace_neginf(arr)
        modalities[m] = arr
    info["neginf_replaced"] = int(sum(neginf.values()))
    info["neginf_by_modality"] = neginf
    ids = None
    if all("id" in splits[s] for s in SPLITS):
        ids = np.concatenate(
            [c.to_str_array(splits[s]["id"], sizes[s], path, f"{s}/id") for s in SPLITS]
        )
        ids, info["ids_deduplicated"] = c.unique_ids(ids)
    del splits, data
    return c.build(
        path,
        sizes=sizes,
        modalities=modalities,
        target=target,
        task=task,
        splits=c.split_positions(sizes),
        ids=ids,
        n_classes=2 if task == "classification" else None,
        name=name or f"mult-{path.stem}",
        info=info,
    )
