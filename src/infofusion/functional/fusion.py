"""Loss terms of fusion methods as pure, differentiable tensor functions (no state, no modules).

* :func:`js_divergence` -- per-sample Jensen-Shannon divergence between two categorical
  predictions given as logits (MCR's influence terms);
* :func:`competition_game` -- MCR's game: how the influence terms of every modality combine into
  one regulariser (greedy, independent, collaborative);
* :func:`supervised_nt_xent` -- supervised contrastive loss (NT-Xent with label positives);
* :func:`energy_confidence` / :func:`history_ranking_loss` -- QMF's energy-based confidence and
  its ranking loss against each sample's historical loss;
* :func:`product_of_experts` -- I2M2's combined logits: the sum of the experts' log-probabilities;
* :func:`gaussian_kl_standard` -- KL(N(mu, diag sigma^2) || N(0, I)) per sample (MMIB);
* :func:`low_rank_fusion` -- LMF's low-rank factorised tensor layer.

Values are in nats. Every function documents its shapes; none reads or writes state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "GAMES",
    "competition_game",
    "energy_confidence",
    "gaussian_kl_standard",
    "history_ranking_loss",
    "js_divergence",
    "low_rank_fusion",
    "product_of_experts",
    "supervised_nt_xent",
]

#: MCR's games, each with the influence terms it needs (see :func:`competition_game`).
GAMES: dict[str, tuple[str, ...]] = {
    "greedy": ("own", "rest"),
    "independent": ("own",),
    "collaborative": ("both",),
}


def js_divergence(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence between ``softmax(logits_p)`` and ``softmax(logits_q)``.

    .. math::
        JS(p, q) = \\tfrac12 KL(p \\| m) + \\tfrac12 KL(q \\| m), \\quad m = \\tfrac12 (p + q)

    computed in log space (``log m = logsumexp(log p, log q) - log 2``), so it stays finite for
    saturated predictions. It lies in ``[0, log 2]``.

    Args:
        logits_p: ``(..., C)`` logits.
        logits_q: ``(..., C)`` logits (broadcast against ``logits_p``).

    Returns:
        ``(...)`` divergence per row, in nats.
    """
    log_p = F.log_softmax(logits_p, dim=-1)
    log_q = F.log_softmax(logits_q, dim=-1)
    log_p, log_q = torch.broadcast_tensors(log_p, log_q)
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    kl_pm = (log_p.exp() * (log_p - log_m)).sum(-1)
    kl_qm = (log_q.exp() * (log_q - log_m)).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


def competition_game(
    game: str,
    own: Mapping[str, torch.Tensor] | None = None,
    rest: Mapping[str, torch.Tensor] | None = None,
    both: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """MCR's regulariser (to be minimised) from the influence terms of each modality.

    For modality ``m``, ``D_m`` is the divergence between the fused prediction and the fused
    prediction with ``m``'s features permuted across the batch. It is computed three ways that
    differ only in where the gradient flows: ``own[m]`` through ``m``'s path only (the other
    modalities' contributions detached), ``rest[m]`` through the other modalities' paths only,
    ``both[m]`` through every path. With two modalities ``a, v`` and ``D_a^{(v)} = rest[a]``:

    * ``greedy``: :math:`\\sum_m (-own_m + rest_m) = -D_a^{(a)} + D_a^{(v)} - D_v^{(v)} + D_v^{(a)}`
      -- each modality raises its own influence and lowers the others';
    * ``independent``: :math:`-\\sum_m own_m` -- each raises its own influence only;
    * ``collaborative``: :math:`-\\sum_m both_m` -- every path raises every influence.

    Args:
        game: ``greedy``, ``independent`` or ``collaborative``.
        own / rest / both: modality -> scalar (or per-sample) influence term; the game's
            required ones must be given (:data:`GAMES`).

    Returns:
        The regulariser, same shape as the terms.
    """
    if game not in GAMES:
        raise ValueError(f"game must be one of {', '.join(GAMES)}, got {game!r}")
    terms = {"own": own, "rest": rest, "both": both}
    for need in GAMES[game]:
        if not terms[need]:
            raise ValueError(f"game {game!r} needs the '{need}' influence terms")
    if game == "greedy":
        return sum(-own[m] + rest[m] for m in own)  # type: ignore[index,union-attr,return-value]
    if game == "independent":
        return -sum(own.values())  # type: ignore[union-attr]
    return -sum(both.values())  # type: ignore[union-attr]


def supervised_nt_xent(z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Supervised NT-Xent: samples with the same label are positives, all others negatives.

    With ``s_ij = cos(z_i, z_j) / temperature``, each ordered positive pair ``(i, p)`` (same
    label, ``i != p``) costs

    .. math:: -s_{ip} + \\log\\big(e^{s_{ip}} + \\sum_{n: y_n \\ne y_i} e^{s_{in}}\\big)

    and the loss is the mean over every positive pair (0 when there is none). This is the
    supervised form MCR uses on the stacked per-modality features ``[f_1; ...; f_M]`` with
    labels ``[y; ...; y]``, so the same sample seen by two modalities is a positive pair.

    Args:
        z: ``(N, D)`` features (normalised inside).
        labels: ``(N,)`` integer labels.
        temperature: softmax temperature.

    Returns:
        Scalar loss.
    """
    zn = F.normalize(z, dim=-1)
    sim = zn @ zn.T / temperature  # (N, N)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    pos, neg = same & ~eye, ~same
    if not bool(pos.any()):
        return z.sum() * 0.0
    # log-sum-exp over negatives of each anchor: (N, 1); -inf where an anchor has none
    neg_lse = torch.logsumexp(sim.masked_fill(~neg, float("-inf")), dim=1, keepdim=True)
    per_pair = -sim + torch.logaddexp(sim, neg_lse)  # (N, N), read at positive pairs only
    return per_pair[pos].mean()


def energy_confidence(logits: torch.Tensor, temperature: float = 10.0) -> torch.Tensor:
    """QMF's confidence: the negative free energy of a classifier, scaled by ``1/temperature``.

    .. math:: conf(x) = -E(x) / T = \\log \\sum_c e^{f_c(x)} / T

    Args:
        logits: ``(B, C)`` logits.
        temperature: ``T`` (the reference uses 10).

    Returns:
        ``(B,)`` confidences.
    """
    return torch.logsumexp(logits, dim=-1) / temperature


def history_ranking_loss(confidence: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
    """QMF's ranking loss tying confidence to each sample's historical loss.

    Sample ``i`` of the batch is paired with sample ``i + 1`` (cyclically). ``history`` holds
    each sample's accumulated training loss normalised to [0, 1] (higher: less often right), and
    with ``s_i = sign(h_i - h_{i+1})``:

    .. math:: L = \\frac1B \\sum_i \\max\\big(0,\\; s_i (c_i - c_{i+1}) - |h_i - h_{i+1}|\\big)

    so the historically worse sample of a pair is penalised when its confidence exceeds the
    other's by more than the gap in history (the released QMF code's form; pairs with equal
    history cost nothing).

    Args:
        confidence: ``(B,)`` confidences (gradient flows through them).
        history: ``(B,)`` normalised historical losses (no gradient).

    Returns:
        Scalar loss.
    """
    c_next = torch.roll(confidence, -1)
    h_next = torch.roll(history, -1)
    sign = torch.sign(history - h_next)
    return F.relu(sign * (confidence - c_next) - (history - h_next).abs()).mean()


def product_of_experts(logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Combined logits of a product of categorical experts: :math:`\\sum_k \\log p_k(y | x)`.

    ``softmax`` of the result is the normalised product :math:`\\prod_k p_k / Z`.

    Args:
        logits: the experts' ``(B, C)`` logits.

    Returns:
        ``(B, C)`` combined logits (unnormalised log-probabilities).
    """
    return torch.stack([F.log_softmax(lg, dim=-1) for lg in logits]).sum(dim=0)


def gaussian_kl_standard(mu: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """:math:`KL(N(\\mu, diag\\,\\sigma^2) \\| N(0, I)) = \\tfrac12 \\sum_d (\\mu_d^2 + \\sigma_d^2 - 2\\log\\sigma_d - 1)`.

    Args:
        mu: ``(B, D)`` means.
        std: ``(B, D)`` standard deviations (> 0).

    Returns:
        ``(B,)`` KL per sample, in nats.
    """
    return 0.5 * (mu.pow(2) + std.pow(2) - 2.0 * std.log() - 1.0).sum(-1)


def low_rank_fusion(
    inputs: Sequence[torch.Tensor], factors: Sequence[torch.Tensor], rank_weights: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """LMF's fused output: a rank-``R`` factorisation of the tensor layer ``W . (z_1' x ... x z_M')``.

    With ``z_m' = [z_m; 1]`` and factors ``W_m^{(r)}`` of shape ``(d_m + 1, H)``:

    .. math:: h = \\sum_{r=1}^{R} w_r \\prod_{m=1}^{M} (z_m'^\\top W_m^{(r)}) + b

    (product elementwise over the ``H`` outputs). It equals the full tensor layer whose weight
    is :math:`W[i_1, ..., i_M, :] = \\sum_r w_r \\prod_m W_m^{(r)}[i_m, :]`, at a cost linear in
    the number of modalities instead of exponential.

    Args:
        inputs: ``M`` tensors ``(B, d_m)``.
        factors: ``M`` tensors ``(R, d_m + 1, H)``.
        rank_weights: ``(R,)`` weights ``w_r``.
        bias: ``(H,)``.

    Returns:
        ``(B, H)``.
    """
    prod: torch.Tensor | None = None
    for z, w in zip(inputs, factors, strict=True):
        z1 = torch.cat([z, torch.ones_like(z[:, :1])], dim=-1)  # (B, d+1)
        proj = torch.einsum("bi,rih->rbh", z1, w)  # (R, B, H)
        prod = proj if prod is None else prod * proj
    assert prod is not None
    return torch.einsum("r,rbh->bh", rank_weights, prod) + bias
