"""Pure math of BTW's per-sample, per-modality weights (no state, no training, no labels).

BTW (Beyond Two-modality Weighting) re-weights each modality's features per sample from

* an instance-level score: the KL divergence between modality ``m``'s unimodal prediction and
  the fused prediction on sample ``i`` (:func:`categorical_kl`, :func:`gaussian_kl`),
  normalised over the split or over the modalities (:func:`normalize_scores`);
* a modality-level score: the mutual information between modality ``m``'s unimodal outputs and
  the fused outputs over the split (estimated elsewhere; :func:`normalize_mi` here);

multiplied, floored, renormalised per sample (:func:`renormalize`) and blended with the
previous weights (:func:`smooth`) by a factor that the validation loss moves
(:func:`next_smoothing`). :func:`btw_update` chains these steps. Every function takes
predictions only: none has a label argument, which is what keeps the weights of validation and
test samples free of their labels.

All functions take and return ``float64`` tensors (``N`` samples, ``M`` modalities).
"""

from __future__ import annotations

import math

import torch

from infofusion.errors import ConfigError

__all__ = [
    "KL_NORMS",
    "btw_update",
    "categorical_kl",
    "class_log_ratios",
    "instance_divergence",
    "gaussian_kl",
    "next_smoothing",
    "normalize_mi",
    "normalize_scores",
    "renormalize",
    "smooth",
]

#: Normalisations of the instance scores: per modality over the split (reference, regression
#: and clinical code), per sample over the modalities (the other reference version), none.
KL_NORMS: tuple[str, ...] = ("minmax", "sample", "none")


def categorical_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """``KL(p || q) = sum_c p_c (log p_c - log q_c)`` per row, in nats.

    Args:
        log_p: ``(N, C)`` log-probabilities of ``p`` (the unimodal prediction).
        log_q: ``(N, C)`` log-probabilities of ``q`` (the fused prediction).

    Returns:
        ``(N,)`` non-negative divergences (classes with ``p_c = 0`` contribute 0).
    """
    if log_p.shape != log_q.shape or log_p.ndim != 2:
        raise ConfigError(f"categorical_kl needs two (N, C) arrays of one shape, got {tuple(log_p.shape)} and {tuple(log_q.shape)}")
    p = log_p.exp()
    terms = torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p))
    return terms.sum(dim=1).clamp_min(0.0)


def gaussian_kl(
    mean_p: torch.Tensor, mean_q: torch.Tensor, sigma_p: float | torch.Tensor, sigma_q: float | torch.Tensor
) -> torch.Tensor:
    r"""``KL(N(mean_p, sigma_p^2) || N(mean_q, sigma_q^2))`` elementwise, in nats.

    .. math::
        \log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p - \mu_q)^2}{2\sigma_q^2} - \frac12

    Args:
        mean_p: ``(N,)`` unimodal predictions.
        mean_q: ``(N,)`` fused predictions.
        sigma_p: standard deviation of the unimodal predictive distribution (> 0; scalar or
            broadcastable to ``(N,)``).
        sigma_q: standard deviation of the fused predictive distribution (> 0).
    """
    sp = torch.as_tensor(sigma_p, dtype=mean_p.dtype)
    sq = torch.as_tensor(sigma_q, dtype=mean_p.dtype)
    if not (bool((sp > 0).all()) and bool((sq > 0).all())):
        raise ConfigError(f"gaussian_kl needs positive standard deviations, got sigma_p={sigma_p}, sigma_q={sigma_q}")
    return torch.log(sq / sp) + (sp**2 + (mean_p - mean_q) ** 2) / (2 * sq**2) - 0.5


def instance_divergence(
    unimodal: list[torch.Tensor], fused: torch.Tensor, kind: str, sigma_p: float = 0.1, sigma_q: float = 1.0
) -> torch.Tensor:
    """``(N, M)`` divergence of each modality's unimodal prediction from the fused prediction.

    Args:
        unimodal: ``M`` predictions, each ``(N, C)`` logits or ``(N,)`` scores.
        fused: the fused prediction, same layout.
        kind: ``categorical`` (:func:`categorical_kl` of the softmax distributions),
            ``gaussian`` (:func:`gaussian_kl` with fixed ``sigma_p``, ``sigma_q``) or
            ``gaussian_spread`` (each model's standard deviation of predictions over the ``N``
            samples as its sigma: label-free, one scale per model).
    """
    cols = []
    for uni in unimodal:
        if kind == "categorical":
            cols.append(categorical_kl(torch.log_softmax(uni, -1), torch.log_softmax(fused, -1)))
        elif kind == "gaussian":
            cols.append(gaussian_kl(uni, fused, sigma_p, sigma_q))
        elif kind == "gaussian_spread":
            cols.append(gaussian_kl(uni, fused, float(uni.std().clamp_min(1e-6)), float(fused.std().clamp_min(1e-6))))
        else:
            raise ConfigError(f"instance_divergence: kind must be categorical, gaussian or gaussian_spread, got {kind!r}")
    return torch.stack(cols, dim=1)


def class_log_ratios(logits: torch.Tensor) -> torch.Tensor:
    """``(N, C)`` class scores -> ``(N, C - 1)`` additive log-ratios ``log p_c - log p_0``: an
    invertible, full-rank coordinate system of the predicted distribution (probabilities sum
    to 1, so ``C`` columns would be degenerate), the representation MI is estimated on."""
    logp = torch.log_softmax(logits, -1)
    return logp[:, 1:] - logp[:, :1]


def normalize_scores(scores: torch.Tensor, how: str, floor: float = 1e-5) -> torch.Tensor:
    """Normalise instance scores ``(N, M)``.

    * ``minmax``: per modality (column) over the samples, ``(s - min) / (max - min)``; a
      constant column becomes ``floor`` (the reference's 1e-4 guard, here the same floor as
      everywhere else).
    * ``sample``: per sample (row), ``s / sum_m s`` (a zero row becomes uniform).
    * ``none``: unchanged.

    Scores are first clipped below at ``floor`` (the reference clips KL at 1e-5).
    """
    if how not in KL_NORMS:
        raise ConfigError(f"kl_norm must be one of {', '.join(KL_NORMS)}, got {how!r}")
    s = scores.clamp_min(floor)
    if how == "minmax":
        lo, hi = s.min(dim=0, keepdim=True).values, s.max(dim=0, keepdim=True).values
        span = hi - lo
        return torch.where(span > 0, (s - lo) / torch.where(span > 0, span, torch.ones_like(span)), torch.full_like(s, floor))
    if how == "sample":
        total = s.sum(dim=1, keepdim=True)
        return s / total
    return s


def normalize_mi(mi: torch.Tensor, floor: float = 1e-5) -> torch.Tensor:
    """``(M,)`` MI estimates clipped below at ``floor`` and normalised to sum to 1."""
    m = mi.clamp_min(floor)
    return m / m.sum()


def renormalize(weights: torch.Tensor, total: float | None = None, floor: float = 1e-5) -> torch.Tensor:
    """Per-sample renormalisation: each row as shares (summing to 1), each share floored at
    ``floor``, then the row scaled to sum to ``total``. Scale-free per row.

    Args:
        weights: ``(N, M)`` non-negative weights.
        total: the row sum (default ``M``: uniform weights are all 1, as before the first update).
        floor: lower bound of a share, so no modality is switched off exactly; a row of zeros
            becomes uniform.
    """
    m = weights.shape[1]
    total = float(m) if total is None else float(total)
    row = weights.sum(dim=1, keepdim=True)
    share = torch.where(row > 0, weights / torch.where(row > 0, row, torch.ones_like(row)), torch.full_like(weights, 1.0 / m))
    share = share.clamp_min(floor)
    return share / share.sum(dim=1, keepdim=True) * total


def smooth(old: torch.Tensor, new: torch.Tensor, factor: float) -> torch.Tensor:
    """``factor * new + (1 - factor) * old`` (the reference's moving average of the weights)."""
    if not 0.0 <= factor <= 1.0:
        raise ConfigError(f"smoothing factor must lie in [0, 1], got {factor}")
    return factor * new + (1.0 - factor) * old


def next_smoothing(factor: float, loss: float, best: float, step: float = 0.05) -> float:
    """The reference's schedule of the smoothing factor, driven here by the *validation* loss.

    If the loss is worse than the best seen so far the new weights are trusted more
    (``factor + step``), otherwise less (``factor - step``); clipped to ``[0, 1]``.
    A non-finite ``best`` (no loss seen yet) counts as an improvement.
    """
    if math.isfinite(best) and loss > best:
        return min(factor + step, 1.0)
    return max(factor - step, 0.0)


def btw_update(
    old: torch.Tensor,
    kl: torch.Tensor,
    mi: torch.Tensor | None,
    factor: float,
    kl_norm: str = "minmax",
    direction: str = "divergence",
    floor: float = 1e-5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One weight update of a split.

    ``score = normalize_scores(kl)`` (``direction="agreement"`` uses ``exp(-kl)`` instead of
    ``kl``: the closer a modality agrees with the fused prediction, the larger its score);
    ``new = renormalize(score * normalize_mi(mi))`` (``mi=None``: KL only, the BTW-kl ablation);
    returns ``(smooth(old, new, factor), new)``.

    Args:
        old: ``(N, M)`` current weights.
        kl: ``(N, M)`` divergence of each modality's unimodal prediction from the fused one.
        mi: ``(M,)`` modality-level MI estimates, or None.
        factor: smoothing factor in ``[0, 1]``.
        kl_norm: see :func:`normalize_scores`.
        direction: ``divergence`` (reference: weight grows with KL) or ``agreement``.
        floor: see :func:`renormalize`.
    """
    if kl.shape != old.shape:
        raise ConfigError(f"btw_update: kl has shape {tuple(kl.shape)} but the weights {tuple(old.shape)}")
    if direction == "divergence":
        raw = kl
    elif direction == "agreement":
        raw = torch.exp(-kl)
    else:
        raise ConfigError(f"direction must be 'divergence' or 'agreement', got {direction!r}")
    score = normalize_scores(raw, kl_norm, floor)
    if mi is not None:
        if mi.shape != (kl.shape[1],):
            raise ConfigError(f"btw_update: mi has shape {tuple(mi.shape)}, expected ({kl.shape[1]},)")
        score = score * normalize_mi(mi, floor).unsqueeze(0)
    new = renormalize(score, floor=floor)
    return smooth(old, new, factor), new
