"""Small datasets built inline for tests (independent of the built-in generators)."""

from __future__ import annotations

import numpy as np

from infofusion.data.dataset import MultimodalDataset


def xor_dataset(n: int = 600, dim: int = 4, seed: int = 0, noise: float = 0.3, sequence: bool = False) -> MultimodalDataset:
    """Label = XOR of one bit carried by each modality (pure synergy).

    With ``sequence=True`` modality ``b`` is a padded sequence ``(N, 6, dim)`` with lengths in
    [2, 6] whose valid steps all carry the bit; padding is filled with large junk values so a
    method that lets padding leak in is caught.
    """
    rng = np.random.default_rng(seed)
    b1, b2 = rng.integers(0, 2, n), rng.integers(0, 2, n)
    a = (2 * b1[:, None] - 1) + noise * rng.standard_normal((n, dim))
    lengths = None
    if sequence:
        t = 6
        lengths = rng.integers(2, t + 1, n)
        b = (2 * b2[:, None, None] - 1) + noise * rng.standard_normal((n, t, dim))
        pad = np.arange(t)[None, :] >= lengths[:, None]
        b[pad] = 50.0
    else:
        b = (2 * b2[:, None] - 1) + noise * rng.standard_normal((n, dim))
    y = (b1 ^ b2).astype(np.int64)
    idx = rng.permutation(n)
    n_tr, n_va = int(0.6 * n), int(0.2 * n)
    splits = {"train": idx[:n_tr], "valid": idx[n_tr : n_tr + n_va], "test": idx[n_tr + n_va :]}
    return MultimodalDataset(
        {"a": a, "b": b}, y, splits=splits, lengths=None if lengths is None else {"b": lengths}, name="xor"
    )


def regression_dataset(n: int = 400, seed: int = 0) -> MultimodalDataset:
    """y = x_a[0] + x_b[0] * x_a[1] + noise."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, 3))
    b = rng.standard_normal((n, 2))
    y = (a[:, 0] + b[:, 0] * a[:, 1] + 0.1 * rng.standard_normal(n)).astype(np.float32)
    idx = rng.permutation(n)
    splits = {"train": idx[: n // 2], "valid": idx[n // 2 : 3 * n // 4], "test": idx[3 * n // 4 :]}
    return MultimodalDataset({"a": a, "b": b}, y, splits=splits, name="reg")
