"""Pure tensor math of representation decomposition: Gaussian posteriors, decorrelation, products.

These are the differentiable pieces DMIL (:mod:`infofusion.methods.dmil`) is built from; they
hold no parameters and know nothing of methods.

* :func:`reparameterize` and :func:`gaussian_kl` -- a diagonal Gaussian posterior
  ``q(c | z) = N(mu, diag(exp(logvar)))``, its reparameterised sample and its KL divergence to
  ``N(0, I)`` (the variational upper bound on ``I(Z; C)`` used to compress a component).
* :func:`cross_correlation` and :func:`decorrelation_penalty` -- a batch estimate of how much
  two representations share to second order.
* :func:`subset_products` -- elementwise products of per-modality vectors over every subset of
  two or more modalities (up to an order): the features that turn an XOR (parity) of one bit
  per modality into a linearly separable function.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Sequence

import torch

__all__ = [
    "cross_correlation",
    "decorrelation_penalty",
    "gaussian_kl",
    "paired_correlation",
    "reparameterize",
    "subset_products",
    "subsets",
]


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A sample of ``N(mu, diag(exp(logvar)))`` that is differentiable in ``mu`` and ``logvar``.

    Args:
        mu: ``(B, D)`` means.
        logvar: ``(B, D)`` log-variances.

    Returns:
        ``(B, D)``: ``mu + eps * exp(logvar / 2)`` with ``eps ~ N(0, I)`` (global torch stream).
    """
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-sample ``KL(N(mu, diag(exp(logvar))) || N(0, I))`` in nats, summed over dimensions.

    .. math::

        KL_i = \\frac12 \\sum_d \\left(\\mu_{id}^2 + e^{v_{id}} - v_{id} - 1\\right)

    Its mean over samples is the variational upper bound on ``I(Z; C)`` of an encoder
    ``q(c | z)`` with a standard normal prior.

    Args:
        mu: ``(B, D)`` means.
        logvar: ``(B, D)`` log-variances.

    Returns:
        ``(B,)`` non-negative KL of each sample's posterior.

    Example:
        >>> import torch
        >>> float(gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3))[0])  # the prior itself
        0.0
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=-1)


def cross_correlation(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Batch Pearson correlation of every column of ``a`` with every column of ``b``.

    Args:
        a: ``(B, Da)``.
        b: ``(B, Db)``, paired rows.
        eps: added to each column's standard deviation (a constant column correlates 0).

    Returns:
        ``(Da, Db)`` correlations in ``[-1, 1]``; zeros when ``B < 2``.
    """
    if a.shape[0] < 2:
        return a.new_zeros(a.shape[1], b.shape[1]) * (a.sum() + b.sum())  # keeps the graph
    a = a - a.mean(dim=0)
    b = b - b.mean(dim=0)
    a = a / (a.pow(2).mean(dim=0).sqrt() + eps)
    b = b / (b.pow(2).mean(dim=0).sqrt() + eps)
    return a.T @ b / a.shape[0]


def paired_correlation(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Batch Pearson correlation of column ``d`` of ``a`` with column ``d`` of ``b``.

    ``1 - rho_d`` is the mean squared difference of the two columns after each is standardised
    over the batch, so ``mean_d (1 - rho_d)`` aligns two representations coordinate by
    coordinate without the collapse to a constant that a plain squared distance allows (the
    deep-CCA view of agreement: a coordinate carrying something only ``a`` has cannot reach 1).

    Args:
        a: ``(B, D)``.
        b: ``(B, D)``, paired rows.
        eps: added to each column's standard deviation.

    Returns:
        ``(D,)`` correlations; zeros when ``B < 2``.
    """
    if a.shape != b.shape:
        raise ValueError(f"a and b must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] < 2:
        return a.new_zeros(a.shape[1]) * (a.sum() + b.sum())
    a = a - a.mean(dim=0)
    b = b - b.mean(dim=0)
    a = a / (a.pow(2).mean(dim=0).sqrt() + eps)
    b = b / (b.pow(2).mean(dim=0).sqrt() + eps)
    return (a * b).mean(dim=0)


def decorrelation_penalty(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``0.5 * sum_ij rho_ij^2`` over the batch cross-correlations of ``a`` and ``b`` (nats).

    For jointly Gaussian coordinates ``I(a_i; b_j) = -0.5 log(1 - rho_ij^2)``, so the penalty is
    the second-order approximation of ``sum_ij I(a_i; b_j)``: zero exactly when every pair of
    coordinates is uncorrelated, on the nats scale of a KL summed over dimensions. It sees only
    second-order (linear) dependence. On a batch of ``B`` independent samples it has a floor of
    about ``Da * Db / (2 B)``.

    Args:
        a: ``(B, Da)``.
        b: ``(B, Db)``.

    Returns:
        Scalar tensor (0 when ``B < 2``).
    """
    return 0.5 * cross_correlation(a, b).pow(2).sum()


def subsets(n: int, max_order: int) -> list[tuple[int, ...]]:
    """Index subsets of ``range(n)`` of sizes ``2 .. min(n, max_order)``, by size then order."""
    return [c for k in range(2, min(n, max_order) + 1) for c in itertools.combinations(range(n), k)]


def subset_products(parts: Sequence[torch.Tensor], max_order: int) -> torch.Tensor:
    """Elementwise products of the ``parts`` over every subset of 2 .. ``max_order`` of them.

    With ``parts = [p_1, p_2]`` this is ``p_1 * p_2``; with three parts and ``max_order = 3`` it
    is ``[p_1 p_2, p_1 p_3, p_2 p_3, p_1 p_2 p_3]``. If coordinate ``d`` of every ``p_m`` is
    ``+-c`` by one bit ``b_m``, the product over a subset is ``+-c^k`` by the parity of those
    bits: an XOR that no linear function of ``[p_1; p_2]`` represents is one coordinate here.

    Args:
        parts: ``M`` tensors ``(B, D)`` of the same shape.
        max_order: largest subset size (``>= 2``).

    Returns:
        ``(B, D * n_subsets)`` with ``n_subsets = len(subsets(M, max_order))``; ``(B, 0)`` for a
        single part.
    """
    if not parts:
        raise ValueError("subset_products needs at least one part")
    if max_order < 2:
        raise ValueError(f"max_order must be >= 2, got {max_order}")
    shape = parts[0].shape
    for p in parts:
        if p.shape != shape:
            raise ValueError(f"parts must share one shape, got {tuple(shape)} and {tuple(p.shape)}")
    feats = [functools.reduce(operator.mul, (parts[i] for i in c)) for c in subsets(len(parts), max_order)]
    if not feats:
        return parts[0].new_zeros(shape[0], 0)
    return torch.cat(feats, dim=-1)
