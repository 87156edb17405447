"""Loaders for the field's feature-file formats, each registered as a dataset loader.

``load_dataset("mmsa:/path/aligned_50.pkl")`` (or ``--data mmsa:/path/aligned_50.pkl``) calls the
loader registered as ``"mmsa"`` with the path. Formats: ``mmsa``, ``magbert``, ``mult``,
``mustard``, ``cremad``, ``generic`` (see ``docs/formats.md`` for the exact layouts). Pickles are
read with :mod:`infofusion.data.safe_pickle`, never with a plain ``pickle.load``.
"""

from __future__ import annotations

from typing import Any

from infofusion.data.formats import cremad, generic, magbert, mmsa, mult, mustard

__all__ = ["cremad", "generic", "magbert", "mmsa", "mult", "mustard", "dataset_info"]


def dataset_info(spec: str, **kwargs: Any) -> dict[str, Any]:
    """Load a dataset by spec and summarise it.

    Args:
        spec: dataset spec, e.g. ``"mmsa:/path/aligned_50.pkl"``.
        **kwargs: passed to the loader (e.g. ``text="text_bert"``, ``fold=2``).

    Returns:
        :meth:`MultimodalDataset.describe` (name, task, n, splits, modalities with dims,
        sequence lengths and mean valid lengths, class counts or target range, scalar info such
        as ``protocol``), plus ``spec`` and the non-scalar info entries that are plain data
        (e.g. ``neginf_by_modality``, ``classes``).
    """
    from infofusion.data import load_dataset

    ds = load_dataset(spec, **kwargs)
    out = ds.describe()
    out["spec"] = spec
    for k, v in ds.info.items():
        if k not in out and isinstance(v, (dict, list, tuple)) and _plain(v):
            out[k] = v
    out["sample_meta"] = sorted(ds.sample_meta)
    return out


def _plain(v: Any) -> bool:
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    return isinstance(v, (str, int, float, bool)) or v is None
