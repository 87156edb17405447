"""Masked pooling: means over the valid positions of padded sequences.

The one implementation every sequence path uses (encoders, methods, the dataset's pooling and the
measures that pool through it). Valid positions are *selected* (``torch.where``), never multiplied
by a 0/1 mask: ``0 * inf`` and ``0 * nan`` are NaN, so a product would let a non-finite value in
the padding poison the result, and its gradient. With selection, whatever the padding holds, the
output and the gradients equal those of zero padding.
"""

from __future__ import annotations

import torch


def _broadcast_mask(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``mask`` of shape ``x.shape[:mask.ndim]`` with trailing singleton dims to broadcast."""
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor, got dtype {mask.dtype}")
    if mask.ndim > x.ndim or tuple(x.shape[: mask.ndim]) != tuple(mask.shape):
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not match the leading dims of x "
            f"{tuple(x.shape)}"
        )
    return mask.reshape(*mask.shape, *([1] * (x.ndim - mask.ndim)))


def select_valid(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``x`` with every padded position replaced by zero (selection, not a product).

    Args:
        x: ``(B, T, ...)`` values.
        mask: ``(B, T)`` bool, True at valid positions (``None``: everything is valid).

    Returns:
        Tensor of ``x``'s shape; padded positions are exactly ``0`` whatever ``x`` held there,
        and no gradient flows to them.
    """
    if mask is None:
        return x
    return torch.where(_broadcast_mask(x, mask), x, torch.zeros((), dtype=x.dtype, device=x.device))


def masked_mean(
    x: torch.Tensor, mask: torch.Tensor | None = None, dim: int | None = 1
) -> torch.Tensor:
    """Mean of ``x`` over the valid positions of ``mask``.

    .. math::

        \\bar x_b = \\frac{\\sum_t [m_{bt}]\\, x_{bt}}{\\max(1, \\sum_t [m_{bt}])}

    where ``[m]`` selects (a padded ``x`` never enters the sum, even when it is ``inf`` or NaN).

    Args:
        x: ``(B, T, ...)`` values; trailing feature dims are kept.
        mask: ``(B, T)`` bool (any leading shape of ``x``), True at valid positions; ``None``
            means every position is valid (a plain mean).
        dim: the position dim to average over (default 1, time). ``None`` averages over every
            position of ``mask`` at once (all valid entries of a ``(B, T)`` loss map).

    Returns:
        ``x`` without dim ``dim`` (``(B, ...)`` for the default), or ``x.shape[mask.ndim:]``
        when ``dim`` is None. A row with no valid position gives 0.
    """
    if mask is None:
        return x.mean() if dim is None else x.mean(dim=dim)
    m = _broadcast_mask(x, mask)
    kept = torch.where(m, x, torch.zeros((), dtype=x.dtype, device=x.device))
    if dim is None:
        dims = tuple(range(mask.ndim))
        return kept.sum(dim=dims) / mask.sum().clamp_min(1).to(x.dtype)
    if dim < 0:
        dim += x.ndim
    if dim >= mask.ndim:
        raise ValueError(f"dim {dim} is not a masked dim (mask has {mask.ndim} dims)")
    count = m.sum(dim=dim).clamp_min(1).to(x.dtype)  # broadcasts over trailing dims
    return kept.sum(dim=dim) / count


def lengths_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(N,)`` valid lengths -> ``(N, steps)`` bool mask, True at positions ``< length``."""
    positions = torch.arange(steps, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)
