r"""The Wasserstein dependency measure (Ozair et al., 2019) as pure functions of critic scores.

:math:`I_W(X; Y) = W_1(p_{XY}, p_X p_Y)`, the optimal-transport distance between the joint
distribution and the product of its marginals under a metric on X x Y. By Kantorovich–Rubinstein
duality it is :math:`\sup_{\|f\|_L \le 1} \mathbb E_{p_{XY}} f - \mathbb E_{p_X p_Y} f`: any
1-Lipschitz critic gives a lower bound. It is a distance in the units of the metric, not nats;
it is 0 iff X and Y are independent, and scales with the metric (``(aX, aY)`` has ``a I_W``),
while MI does not change under any invertible map.

WPC (Wasserstein predictive coding), the paper's training objective, is InfoNCE
(:func:`infofusion.functional.mi.infonce`) with a Lipschitz critic; it is at most InfoNCE's own
cap ``log B``.

Score matrices follow :mod:`infofusion.functional.mi`: ``scores[i, j] = f(x_i, y_j)``, positives
on the diagonal, off-diagonal entries as samples of the product of marginals.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["gradient_penalty", "wdm_dual", "wdm_pointwise"]


def wdm_pointwise(scores: torch.Tensor) -> torch.Tensor:
    """Per-sample dual terms ``(B,)``: :math:`f(x_i, y_i) - \\frac{1}{B-1}\\sum_{j \\ne i} f(x_i, y_j)`."""
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(
            f"scores must be a square (B, B) matrix with B >= 2, got {tuple(scores.shape)}"
        )
    b = scores.shape[0]
    diag = scores.diagonal()
    return diag - (scores.sum(dim=1) - diag) / (b - 1)


def wdm_dual(scores: torch.Tensor) -> torch.Tensor:
    """The Kantorovich–Rubinstein dual on a batch: mean positive minus mean off-diagonal score.

    A lower bound on :math:`W_1(p_{XY}, p_X p_Y)` in expectation when the critic is 1-Lipschitz.

    Example:
        >>> import torch
        >>> float(wdm_dual(torch.full((4, 4), 3.0)))  # a constant critic scores 0
        0.0
    """
    return wdm_pointwise(scores).mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x_joint: torch.Tensor,
    y_joint: torch.Tensor,
    x_prod: torch.Tensor,
    y_prod: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty :math:`\\mathbb E(\\|\\nabla_{(x, y)} f\\| - 1)^2` at random interpolates.

    Each interpolate mixes one joint pair and one product pair with the same weight on both
    parts, so the gradient is taken with respect to the raw joint input ``(x, y)``.

    Args:
        critic: ``critic(x, y) -> (B,)`` scores of paired rows.
        x_joint, y_joint: ``(B, Dx)``, ``(B, Dy)`` pairs drawn jointly.
        x_prod, y_prod: ``(B, Dx)``, ``(B, Dy)`` pairs drawn independently (shuffled).
        generator: source of the interpolation weights.

    Returns:
        Scalar tensor (differentiable in the critic's parameters).
    """
    alpha = torch.rand(
        x_joint.shape[0], 1, generator=generator, dtype=x_joint.dtype, device=x_joint.device
    )
    xi = (alpha * x_joint + (1 - alpha) * x_prod).detach().requires_grad_(True)
    yi = (alpha * y_joint + (1 - alpha) * y_prod).detach().requires_grad_(True)
    out = critic(xi, yi)
    gx, gy = torch.autograd.grad(out.sum(), (xi, yi), create_graph=True, allow_unused=True)
    sq = torch.zeros(xi.shape[0], dtype=xi.dtype, device=xi.device)
    for g in (gx, gy):  # None: the critic ignores that side (its gradient there is 0)
        if g is not None:
            sq = sq + (g**2).sum(dim=1)
    norm = torch.sqrt(sq + 1e-12)
    return ((norm - 1.0) ** 2).mean()
