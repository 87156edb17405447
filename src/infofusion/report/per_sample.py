"""Per-sample outputs of a run (predictions, branch outputs, method diagnostics) as ``.npz``.

Records stay small JSON lines; the per-sample arrays of a run (DMIL's gate weights, BTW's
modality weights, MCR's permutation sensitivities, ...) go to one compressed ``.npz`` file per
run whose path the record names in ``extra["per_sample"]``. Files are read back with
``allow_pickle=False``: plain arrays only.

Layout of a file: ``split`` (0-d string), ``index`` ``(N,)``, ``y`` ``(N,)``, ``prediction``
``(N, C)`` or ``(N,)``, ``unimodal/<modality>`` and ``diagnostics/<name>`` (first dimension N),
plus optional ``truth/<name>`` arrays (per-sample ground truth a dataset carries, e.g. the
interaction type of the synthetic suite).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from infofusion.errors import FormatError


def save_per_sample(
    path: str | Path, outputs: Mapping[str, Any], split: str = "test", truth: Mapping[str, Any] | None = None
) -> str:
    """Write :meth:`Trainer.predict`-style outputs to ``path`` (``.npz``); returns the path.

    Args:
        path: destination file (parent folders are created; ``.npz`` is appended if missing).
        outputs: ``prediction``, ``y``, ``index`` arrays and ``unimodal`` / ``diagnostics`` dicts.
        split: the split the outputs are of.
        truth: extra per-sample arrays aligned with ``outputs["index"]``.
    """
    p = Path(path)
    if p.suffix != ".npz":
        p = p.with_name(p.name + ".npz")
    p.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"split": np.asarray(split)}
    for key in ("index", "y", "prediction"):
        arrays[key] = np.asarray(outputs[key])
    for group in ("unimodal", "diagnostics"):
        for name, value in (outputs.get(group) or {}).items():
            arrays[f"{group}/{name}"] = np.asarray(value)
    for name, value in (truth or {}).items():
        arrays[f"truth/{name}"] = np.asarray(value)
    np.savez_compressed(p, **arrays)
    return str(p)


def load_per_sample(path: str | Path) -> dict[str, Any]:
    """Read a file written by :func:`save_per_sample` back into the same nested layout.

    Raises:
        FormatError: the file is missing, not an ``.npz`` archive, or lacks ``index``/``y``/
            ``prediction``.
    """
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            flat = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise FormatError(f"not a per-sample output file ({exc})", path=p) from None
    missing = [k for k in ("index", "y", "prediction") if k not in flat]
    if missing:
        raise FormatError(f"per-sample file lacks {', '.join(missing)}", path=p)
    out: dict[str, Any] = {"split": str(flat.pop("split", "test")), "unimodal": {}, "diagnostics": {}, "truth": {}}
    for key, value in flat.items():
        group, sep, name = key.partition("/")
        if sep and group in ("unimodal", "diagnostics", "truth"):
            out[group][name] = value
        else:
            out[key] = value
    return out
