r"""Diffusion spectral entropy (DSE) of a point cloud (Liao, Liu et al., 2023).

A representation :math:`Z` (N points) defines a Gaussian affinity graph
:math:`G_{ij} = \exp(-\|z_i - z_j\|^2 / 2\sigma^2)` (optionally kept only between k nearest
neighbours) and its diffusion operator :math:`P = D^{-1} G` (D the degree matrix). P has the
same eigenvalues as the symmetric :math:`D^{-1/2} G D^{-1/2}`, all in [-1, 1]. With
:math:`\alpha_i = |\lambda_i|^t / \sum_j |\lambda_j|^t` (t diffusion steps),

.. math:: \mathrm{DSE}(Z) = -\sum_i \alpha_i \log \alpha_i.

It measures how many directions the diffusion spreads over at scale sigma: 0 for identical
points (one eigenvalue 1, the rest 0), :math:`\log N` for points much farther apart than sigma
(G = I), :math:`\log k` for k tight clusters far apart. As t grows, eigenvalues below 1 vanish
and DSE tends to the log of the number of connected components. Values here are in bits by
default (``base=2``), as in the paper. DSE depends on sigma (it is not scale-free): compare
values at one sigma, and at equal N.

Pure numpy (an O(N^3) symmetric eigendecomposition); no gradient.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "diffusion_eigenvalues",
    "diffusion_spectral_entropy",
    "median_distance",
    "spectral_entropy",
]


def median_distance(z: np.ndarray) -> float:
    """Median pairwise Euclidean distance of the rows of ``(N, D)`` (1 when all are equal)."""
    sq = (z * z).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    iu = np.triu_indices(z.shape[0], 1)
    med = float(np.sqrt(np.median(d2[iu]))) if len(iu[0]) else 0.0
    return med if med > 0 else 1.0


def diffusion_eigenvalues(z: np.ndarray, sigma: float, knn: int | None = None) -> np.ndarray:
    """Eigenvalues ``(N,)`` of the diffusion operator of the Gaussian graph of ``(N, D)`` points.

    Args:
        z: points, one per row (``(N,)`` is one column).
        sigma: kernel width.
        knn: keep each affinity only between mutual-or-one-way k nearest neighbours (the
            symmetrised kNN graph); ``None`` keeps the full Gaussian graph.

    Returns:
        Eigenvalues of :math:`D^{-1/2} G D^{-1/2}` (the same as those of :math:`D^{-1} G`),
        ascending.
    """
    z = np.asarray(z, dtype=np.float64)
    z = z.reshape(-1, 1) if z.ndim == 1 else z
    sq = (z * z).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0)
    np.fill_diagonal(d2, 0.0)
    g = np.exp(-d2 / (2.0 * sigma**2))
    if knn is not None and knn < z.shape[0] - 1:
        order = np.argpartition(d2, knn, axis=1)[:, : knn + 1]  # includes the point itself
        keep = np.zeros_like(g, dtype=bool)
        keep[np.arange(z.shape[0])[:, None], order] = True
        g = np.where(keep | keep.T, g, 0.0)
    deg = g.sum(1)
    inv = 1.0 / np.sqrt(deg)
    sym = g * inv[:, None] * inv[None, :]
    return np.linalg.eigvalsh((sym + sym.T) / 2.0)


def spectral_entropy(eigenvalues: np.ndarray, t: float = 1.0, base: float = 2.0) -> float:
    """Entropy of :math:`\\alpha_i = |\\lambda_i|^t / \\sum_j |\\lambda_j|^t` (0 log 0 = 0).

    Eigenvalues below ``1e-12`` of the largest in magnitude are rounding noise of zero
    eigenvalues and count as 0 (the reference code adds 2.2e-16 to every alpha instead).
    """
    mag = np.abs(np.asarray(eigenvalues, dtype=np.float64))
    mag = np.where(mag > 1e-12 * mag.max(), mag, 0.0) ** t
    alpha = mag / mag.sum()
    alpha = alpha[alpha > 0]
    return float(-(alpha * np.log(alpha)).sum() / math.log(base)) + 0.0  # no -0.0


def diffusion_spectral_entropy(
    z: np.ndarray,
    sigma: float | None = None,
    t: float = 1.0,
    knn: int | None = None,
    base: float = 2.0,
) -> float:
    """DSE of the points ``z`` ``(N, D)`` (bits by default).

    Args:
        z: representation, one point per row.
        sigma: kernel width (``None``: the median pairwise distance of ``z``).
        t: diffusion steps (larger t: only slow, large-scale structure counts).
        knn: sparsify the graph to k nearest neighbours (``None``: full Gaussian graph).
        base: logarithm base (2: bits, as the paper; ``math.e``: nats).

    Example:
        >>> import numpy as np
        >>> centres = np.repeat(np.eye(4) * 100.0, 25, axis=0)   # 4 tight, distant clusters
        >>> round(diffusion_spectral_entropy(centres, sigma=1.0), 3)
        2.0
    """
    z = np.asarray(z, dtype=np.float64)
    z = z.reshape(-1, 1) if z.ndim == 1 else z
    s = median_distance(z) if sigma is None else sigma
    return spectral_entropy(diffusion_eigenvalues(z, s, knn), t, base)
