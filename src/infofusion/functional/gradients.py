"""Pure math of the gradient-balancing methods: modulation coefficients, the two-gradient
min-norm (MGDA) solution and Shapley responses. No state, no training.

Each coefficient function takes global-batch statistics (already reduced across processes by
the caller) and returns one coefficient per modality, in the order given. The methods that use
them live in :mod:`infofusion.methods` (``ogm_ge``, ``agm``, ``mlb``, ``mmpareto``); the
equations and their sources are on the methods' docs pages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "agm_coefficients",
    "coalition_masks",
    "min_norm_weights",
    "mlb_coefficients",
    "mmpareto_weights",
    "ogm_coefficients",
    "others_mean",
    "pareto_combine",
    "shapley_from_coalitions",
]


def others_mean(values: Sequence[float]) -> list[float]:
    """For each position ``m``: the mean of the *other* entries, ``mean_{j != m} v_j``.

    Raises:
        ValueError: fewer than two values (there are no others).
    """
    n = len(values)
    if n < 2:
        raise ValueError(f"others_mean needs at least two values, got {n}")
    total = float(sum(values))
    return [(total - float(v)) / (n - 1) for v in values]


def ogm_coefficients(scores: Sequence[float], alpha: float) -> list[float]:
    """OGM-GE's modulation coefficients (Peng et al., CVPR 2022, Eq. 10).

    ``rho_m = s_m / mean_{j != m} s_j`` (for two modalities ``rho_a = s_a / s_v``) and

    .. math::
        k_m = 1 - \\tanh(\\alpha\\, \\rho_m) \\text{ if } \\rho_m > 1, \\text{ else } 1,

    so only a modality ahead of the others is slowed down (the reference code's
    ``1 - tanh(alpha * relu(rho))``).

    Args:
        scores: per modality, a positive score where larger means the modality explains the
            batch better (the summed true-class probability for classification).
        alpha: modulation strength.

    Returns:
        One coefficient in ``(0, 1]`` per modality.
    """
    rho = [float(s) / o if o > 0 else math.inf for s, o in zip(scores, others_mean(scores), strict=True)]
    return [1.0 - math.tanh(alpha * r) if r > 1.0 else 1.0 for r in rho]


def mlb_coefficients(ratios: Sequence[float], alpha: float, beta: Sequence[float]) -> list[float]:
    """MLB's coefficients (Kontras et al., BMVC 2024) from each modality's lag ratio.

    ``r_m > 1`` means modality ``m`` lags behind the others (its true-class score is below
    their mean); then its gradients are boosted, otherwise damped:

    .. math::
        k_m = 1 + (\\beta_m - 1) \\tanh(\\alpha (r_m - 1)) \\text{ if } r_m > 1,
        \\quad k_m = 1 + \\tanh(\\alpha (r_m - 1)) \\text{ otherwise.}

    With ``beta_m = 2`` (the default) both branches are the single expression
    ``1 + tanh(alpha (r_m - 1))``; the damped branch keeps ``k_m`` in ``(0, 1]`` whatever
    ``beta_m`` is, as the reference implementation does.

    Args:
        ratios: ``r_m`` per modality.
        alpha: steepness.
        beta: ``beta_m`` per modality (the largest boost is ``beta_m``).
    """
    out = []
    for r, b in zip(ratios, beta, strict=True):
        t = math.tanh(alpha * (float(r) - 1.0))
        out.append(1.0 + (float(b) - 1.0) * t if r > 1.0 else 1.0 + t)
    return out


def agm_coefficients(
    losses: Sequence[float], running: Sequence[float], alpha: float, clip: float = 10.0
) -> list[float]:
    """AGM's coefficients (Li et al., ICCV 2023) from the current and running mono-modal losses.

    With ``L_m`` the batch's mean loss of modality ``m``'s mono-modal response and ``Lbar_m``
    its running mean over all earlier steps:

    .. math::
        \\kappa_m = e^{\\bar L_{-m} - L_m}, \\quad \\kappa^*_m = e^{\\bar{\\bar L}_{-m} - \\bar L_m},
        \\quad k_m = e^{\\alpha \\min(\\kappa^*_m - \\kappa_m,\\; c)}

    where ``L_{-m}`` is the mean over the other modalities (for two modalities, the other one's
    loss). A modality whose loss falls faster than its history predicts (``kappa_m`` above its
    running level ``kappa*_m``) gets ``k_m < 1``.

    Args:
        losses: ``L_m`` of the current (global) batch.
        running: ``Lbar_m`` before this step (zeros at the first step).
        alpha: modulation strength.
        clip: the exponent's upper clip ``c`` (10 in the reference code).
    """
    cur = [math.exp(o - float(v)) for v, o in zip(losses, others_mean(losses), strict=True)]
    ref = [math.exp(o - float(v)) for v, o in zip(running, others_mean(running), strict=True)]
    return [math.exp(alpha * min(r - c, clip)) for r, c in zip(ref, cur, strict=True)]


def min_norm_weights(g1: torch.Tensor, g2: torch.Tensor) -> tuple[float, float]:
    """Weights ``(c, 1 - c)``, ``c in [0, 1]``, minimising ``||c g1 + (1 - c) g2||``.

    The closed form of the two-task MGDA problem (Sener & Koltun, 2018):
    ``c = <g2 - g1, g2> / ||g1 - g2||^2`` clipped to ``[0, 1]``. Equal vectors give
    ``(0.5, 0.5)``.

    Args:
        g1, g2: flat gradients of the same shape.
    """
    a, b = g1.double(), g2.double()
    v11, v12, v22 = float(a @ a), float(a @ b), float(b @ b)
    denom = v11 + v22 - 2.0 * v12
    if denom <= 0.0:
        return 0.5, 0.5
    c = min(max((v22 - v12) / denom, 0.0), 1.0)
    return c, 1.0 - c


def mmpareto_weights(g_multi: torch.Tensor, g_uni: torch.Tensor) -> tuple[float, float, float]:
    """MMPareto's weights (Wei & Hu, ICML 2024) of an encoder's multimodal and unimodal
    gradients: ``(0.5, 0.5)`` when their cosine is positive, else the min-norm weights.

    Returns:
        ``(w_multi, w_uni, cosine)``.
    """
    a, b = g_multi.double(), g_uni.double()
    na, nb = float(a.norm()), float(b.norm())
    cos = float(a @ b) / (na * nb) if na > 0 and nb > 0 else 0.0
    if cos > 0.0:
        return 0.5, 0.5, cos
    w1, w2 = min_norm_weights(g_multi, g_uni)
    return w1, w2, cos


def pareto_combine(
    g_multi: Sequence[torch.Tensor], g_uni: Sequence[torch.Tensor], gamma: float = 1.0
) -> tuple[list[torch.Tensor], tuple[float, float, float]]:
    """MMPareto's gradient of one encoder from its multimodal and unimodal gradients.

    With ``(w_m, w_u)`` from :func:`mmpareto_weights` over the whole encoder (all tensors
    flattened together), each tensor's combined gradient is ``d = 2 (w_m g_m + w_u g_u)``;
    when ``||d||`` is below the norm of the tensor's original gradient ``g_m + g_u`` it is
    rescaled to that norm (the reference code's rule, per tensor), and the result is multiplied
    by ``gamma``. When the two gradients agree (``w = 1/2, 1/2``) this is ``gamma (g_m + g_u)``.

    Args:
        g_multi, g_uni: the encoder's gradients of the multimodal and of its unimodal loss,
            one tensor per parameter (same shapes).
        gamma: the final factor.

    Returns:
        (one combined tensor per parameter, ``(w_m, w_u, cosine)``).
    """
    flat_m = torch.cat([g.reshape(-1) for g in g_multi])
    flat_u = torch.cat([g.reshape(-1) for g in g_uni])
    w_m, w_u, cos = mmpareto_weights(flat_m, flat_u)
    out = []
    for gm, gu in zip(g_multi, g_uni, strict=True):
        d = 2.0 * (w_m * gm + w_u * gu)
        n_new, n_orig = float(d.norm()), float((gm + gu).norm())
        if 0.0 < n_new < n_orig:
            d = d * (n_orig / n_new)
        out.append(d * gamma)
    return out, (w_m, w_u, cos)


def coalition_masks(n: int) -> torch.Tensor:
    """``(2**n, n)`` bool: row ``s`` holds the members of coalition ``s`` (bit ``m`` of ``s``)."""
    s = torch.arange(2**n).unsqueeze(1)
    return (s >> torch.arange(n)) & 1 == 1


def shapley_from_coalitions(values: torch.Tensor, split_empty: bool = True) -> torch.Tensor:
    """Exact Shapley values of ``n`` players from the values of all ``2**n`` coalitions.

    .. math::
        \\phi_m = \\sum_{S \\subseteq N \\setminus m} \\frac{|S|! (n - |S| - 1)!}{n!}
        \\left(v(S \\cup m) - v(S)\\right)

    Args:
        values: ``(2**n, ...)``; row ``s`` is the value of the coalition whose members are the
            set bits of ``s`` (:func:`coalition_masks`), row 0 the empty coalition.
        split_empty: add ``v(empty) / n`` to every player, so that the players' values sum to
            ``v(N)`` exactly (efficiency with the baseline shared equally).

    Returns:
        ``(n, ...)``: one value per player.
    """
    k = values.shape[0]
    n = k.bit_length() - 1
    if n < 1 or 2**n != k:
        raise ValueError(f"values must have 2**n rows for n >= 1 players, got {k}")
    masks = coalition_masks(n)
    size = masks.sum(dim=1)
    out = []
    for m in range(n):
        without = torch.nonzero(~masks[:, m]).squeeze(1)  # coalitions S not containing m
        w = torch.tensor(
            [math.factorial(int(size[s])) * math.factorial(n - int(size[s]) - 1) / math.factorial(n) for s in without],
            dtype=values.dtype, device=values.device,
        )
        diff = values[without + 2**m] - values[without]  # v(S + m) - v(S)
        out.append(torch.einsum("s,s...->...", w, diff))
    phi = torch.stack(out)
    if split_empty:
        phi = phi + values[0] / n
    return phi
