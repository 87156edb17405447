"""Plug-in information quantities of discrete joint distributions (numpy, nats).

All functions take a joint probability array ``p`` of shape ``(n1, n2, ny)`` (sources X1, X2 and
target Y) that sums to one; zero cells are allowed (``0 log 0 = 0``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from infofusion.errors import EstimationError

LN2 = math.log(2.0)


def entropy(p: np.ndarray) -> float:
    """Shannon entropy (nats) of a probability array of any shape."""
    q = np.asarray(p, dtype=np.float64).ravel()
    q = q[q > 0]
    return float(-(q * np.log(q)).sum())


def check_joint(p: Any, name: str = "p", atol: float = 1e-6) -> np.ndarray:
    """Validate a joint ``(n1, n2, ny)`` probability array; returns it as float64 summing to one.

    Raises:
        EstimationError: wrong rank or empty axis, non-numeric, NaN/inf, negative entries,
            all zero, or a total more than ``atol`` away from one. The message names the problem.
    """
    try:
        arr = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise EstimationError(f"{name}: a joint distribution must be numeric ({exc})") from None
    if arr.ndim != 3:
        raise EstimationError(
            f"{name}: a PID needs a joint array of shape (n1, n2, ny), got shape {arr.shape}"
        )
    if 0 in arr.shape:
        raise EstimationError(f"{name}: the joint array has an empty axis (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise EstimationError(
            f"{name}: the joint distribution has {int(bad.sum())} non-finite entries "
            f"(first at {idx}: {arr[idx]})"
        )
    if (arr < 0).any():
        idx = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise EstimationError(
            f"{name}: the joint distribution has {int((arr < 0).sum())} negative entries "
            f"(first at {idx}: {arr[idx]:.3g})"
        )
    total = float(arr.sum())
    if total == 0.0:
        raise EstimationError(f"{name}: the joint distribution is all zero")
    if abs(total - 1.0) > atol:
        raise EstimationError(
            f"{name}: the joint distribution sums to {total:.12g}, not 1 (normalise it first)"
        )
    return arr / total


def mutual_informations(p: np.ndarray) -> dict[str, float]:
    """I(X1;Y), I(X2;Y), I(X1,X2;Y) and the entropies they are built from (nats)."""
    hy = entropy(p.sum(axis=(0, 1)))
    h1 = entropy(p.sum(axis=(1, 2)))
    h2 = entropy(p.sum(axis=(0, 2)))
    h1y = entropy(p.sum(axis=1))
    h2y = entropy(p.sum(axis=0))
    h12 = entropy(p.sum(axis=2))
    h12y = entropy(p)
    return {
        "H(Y)": hy,
        "H(Y|X1)": h1y - h1,
        "H(Y|X2)": h2y - h2,
        "H(Y|X1,X2)": h12y - h12,
        "I(X1;Y)": h1 + hy - h1y,
        "I(X2;Y)": h2 + hy - h2y,
        "I(X1,X2;Y)": h12 + hy - h12y,
    }


def joint_from_labels(
    x1: np.ndarray, x2: np.ndarray, y: np.ndarray, shape: tuple[int, int, int] | None = None
) -> np.ndarray:
    """Empirical joint ``(n1, n2, ny)`` of three integer label arrays of length N."""
    a, b, c = (np.asarray(v).astype(np.int64).ravel() for v in (x1, x2, y))
    if not (len(a) == len(b) == len(c)) or len(a) == 0:
        raise EstimationError(
            f"label arrays must be non-empty and of equal length, got {len(a)}, {len(b)}, {len(c)}"
        )
    if min(a.min(), b.min(), c.min()) < 0:
        raise EstimationError("discrete labels must be >= 0")
    if shape is None:
        shape = (int(a.max()) + 1, int(b.max()) + 1, int(c.max()) + 1)
    flat = np.ravel_multi_index((a, b, c), shape)
    counts = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)
    return counts / counts.sum()
