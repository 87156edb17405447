"""Variational bounds on mutual information as pure, differentiable functions of critic scores.

Every lower bound takes a score matrix ``scores`` of shape ``(B, B)`` with
``scores[i, j] = T(x_i, y_j)``: the diagonal holds the B positive (jointly drawn) pairs and the
off-diagonal entries serve as B(B - 1) samples of the product of marginals. Values are in nats;
maximise a lower bound (``loss = -bound``) to train a critic or an encoder.

The upper bounds (CLUB, vCLUB) take log-likelihoods of a variational conditional q(y | x)
instead: ``log_q[i, j] = log q(y_j | x_i)``.

References: Belghazi et al. 2018 (MINE), Nguyen, Wainwright & Jordan 2010 (NWJ), van den Oord
et al. 2018 (InfoNCE), Poole et al. 2019 (survey of the bounds), Song & Ermon 2020 (SMILE),
Cheng et al. 2020 (CLUB, vCLUB).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "club",
    "club_pointwise",
    "dv",
    "dv_pointwise",
    "infonce",
    "infonce_pointwise",
    "js",
    "log_mean_exp_offdiag",
    "mine",
    "nwj",
    "nwj_pointwise",
    "smile",
    "vclub",
]


def _check_square(scores: torch.Tensor) -> int:
    if scores.dim() != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square (B, B) matrix, got shape {tuple(scores.shape)}")
    if scores.shape[0] < 2:
        raise ValueError("scores need at least 2 samples (B >= 2) to form negative pairs")
    return scores.shape[0]


def _offdiag(scores: torch.Tensor) -> torch.Tensor:
    """The ``B (B - 1)`` off-diagonal entries as a flat tensor."""
    b = scores.shape[0]
    mask = ~torch.eye(b, dtype=torch.bool, device=scores.device)
    return scores[mask]


def log_mean_exp_offdiag(scores: torch.Tensor) -> torch.Tensor:
    """:math:`\\log \\frac{1}{B(B-1)} \\sum_{i \\ne j} e^{T_{ij}}`: the log partition term."""
    neg = _offdiag(scores)
    return torch.logsumexp(neg, dim=0) - math.log(neg.numel())


def infonce(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE lower bound (van den Oord et al., 2018); never exceeds ``log B``.

    .. math::

        I_{NCE} = \\frac{1}{B}\\sum_i \\left[T_{ii} - \\log \\frac{1}{B}\\sum_j e^{T_{ij}}\\right]

    Args:
        scores: ``(B, B)`` critic scores, positives on the diagonal.

    Returns:
        Scalar tensor (nats).

    Example:
        >>> import torch
        >>> float(infonce(torch.eye(4) * 50.0))  # a perfect critic reaches log B
        1.386...
    """
    return infonce_pointwise(scores).mean()


def infonce_pointwise(scores: torch.Tensor) -> torch.Tensor:
    """Per-sample InfoNCE terms ``(B,)``: :math:`T_{ii} - \\log \\frac1B \\sum_j e^{T_{ij}}`."""
    b = _check_square(scores)
    return scores.diagonal() - torch.logsumexp(scores, dim=1) + math.log(b)


def nwj(scores: torch.Tensor) -> torch.Tensor:
    """NWJ / f-divergence lower bound (Nguyen et al., 2010), unbiased on minibatches.

    .. math:: I_{NWJ} = \\mathbb E_p[T] - \\mathbb E_{p_X p_Y}[e^{T - 1}]

    The optimal critic is :math:`T^* = 1 + \\log p(x, y) / p(x)p(y)`.
    """
    _check_square(scores)
    return scores.diagonal().mean() - torch.exp(log_mean_exp_offdiag(scores) - 1.0)


def nwj_pointwise(scores: torch.Tensor) -> torch.Tensor:
    """Per-sample log density ratio under the NWJ critic, ``T_ii - 1`` (``(B,)``)."""
    _check_square(scores)
    return scores.diagonal() - 1.0


def dv(scores: torch.Tensor) -> torch.Tensor:
    """Donsker–Varadhan lower bound (biased on minibatches through the log).

    .. math:: I_{DV} = \\mathbb E_p[T] - \\log \\mathbb E_{p_X p_Y}[e^{T}]
    """
    _check_square(scores)
    return scores.diagonal().mean() - log_mean_exp_offdiag(scores)


def dv_pointwise(scores: torch.Tensor, log_partition: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample log density ratio under a DV-type critic, ``T_ii - log Z`` (``(B,)``).

    Args:
        scores: ``(B, B)`` critic scores.
        log_partition: a scalar estimate of :math:`\\log \\mathbb E_{p_X p_Y} e^T` (for example
            MINE's running average); by default the batch's own off-diagonal estimate.
    """
    _check_square(scores)
    if log_partition is None:
        log_partition = log_mean_exp_offdiag(scores)
    return scores.diagonal() - log_partition


def mine(
    scores: torch.Tensor, running_mean: torch.Tensor | None, momentum: float = 0.01
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MINE: the DV bound with its gradient bias corrected by a moving average (Belghazi et al.).

    The value is the DV bound; the surrogate's gradient replaces the batch partition
    :math:`\\mathbb E[e^T]` in the denominator of the DV gradient by an exponential moving
    average, which removes most of the minibatch bias.

    Args:
        scores: ``(B, B)`` critic scores.
        running_mean: the moving average of :math:`\\mathbb E_{p_X p_Y}[e^T]` so far (``None`` at
            the first step).
        momentum: weight of the current batch in the moving average.

    Returns:
        ``(bound, surrogate, new_running_mean)``: maximise ``surrogate``; report ``bound``;
        pass ``new_running_mean`` (detached) to the next call.
    """
    _check_square(scores)
    pos = scores.diagonal().mean()
    log_z = log_mean_exp_offdiag(scores)
    batch_mean = torch.exp(log_z).detach()
    new_mean = (
        batch_mean
        if running_mean is None
        else (1 - momentum) * running_mean + momentum * batch_mean
    )
    # d/dθ of exp(log_z) / new_mean == (d/dθ E[e^T]) / EMA, the corrected DV gradient
    surrogate = pos - torch.exp(log_z) / new_mean.clamp_min(1e-12)
    bound = pos - log_z
    return bound, surrogate, new_mean


def js(scores: torch.Tensor) -> torch.Tensor:
    """Jensen–Shannon (f-GAN) objective; not an MI bound, but a stable critic-training signal.

    .. math:: \\mathbb E_p[-\\mathrm{softplus}(-T)] - \\mathbb E_{p_X p_Y}[\\mathrm{softplus}(T)]
    """
    _check_square(scores)
    return -F.softplus(-scores.diagonal()).mean() - F.softplus(_offdiag(scores)).mean()


def smile(scores: torch.Tensor, clip: float | None = 5.0) -> torch.Tensor:
    """SMILE (Song & Ermon, 2020): DV with the partition term computed on clipped scores.

    Clipping :math:`T` to :math:`[-\\tau, \\tau]` inside the partition function bounds the
    variance of the estimate. The returned tensor has the SMILE *value* but the gradient of the
    JS objective, which trains the critic towards the density ratio stably (as in the
    reference implementation).

    Args:
        scores: ``(B, B)`` critic scores.
        clip: :math:`\\tau`; ``None`` disables clipping (then the value is plain DV).
    """
    _check_square(scores)
    clipped = scores if clip is None else scores.clamp(-clip, clip)
    value = scores.diagonal().mean() - log_mean_exp_offdiag(clipped)
    train = js(scores)
    return train - train.detach() + value.detach()


def club(log_q: torch.Tensor) -> torch.Tensor:
    """CLUB upper bound (Cheng et al., 2020) from a ``(B, B)`` matrix ``log_q[i, j] = log q(y_j | x_i)``.

    .. math::

        I_{CLUB} = \\frac1B \\sum_i \\log q(y_i|x_i) - \\frac{1}{B^2}\\sum_{i,j} \\log q(y_j|x_i)

    An upper bound on I(X; Y) when q is close enough to p(y | x) (exactly when q = p(y | x)).
    """
    return club_pointwise(log_q).mean()


def club_pointwise(log_q: torch.Tensor) -> torch.Tensor:
    """Per-sample CLUB terms ``(B,)``: ``log q(y_i | x_i) - mean_j log q(y_i | x_j)``."""
    _check_square(log_q)
    return log_q.diagonal() - log_q.mean(dim=0)


def vclub(log_q_pos: torch.Tensor, log_q_neg: torch.Tensor) -> torch.Tensor:
    """Sampled CLUB (vCLUB): ``mean(log q(y_i|x_i)) - mean(log q(y_k'|x_i))`` with one negative each.

    Args:
        log_q_pos: ``(B,)`` log-likelihoods of the positive pairs.
        log_q_neg: ``(B,)`` log-likelihoods of pairs with a shuffled ``y``.
    """
    return log_q_pos.mean() - log_q_neg.mean()
