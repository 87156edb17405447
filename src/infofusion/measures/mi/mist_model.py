r"""The network of the learned estimator ``mist``: a set transformer over rows with a quantile head.

A dataset of ``n`` rows ``[x, y]`` goes in as a set: every row is embedded by the same MLP,
attention blocks mix information across rows (ISAB: ``m`` learned inducing points attend to the
rows and the rows attend back, cost linear in ``n``), and PMA pools the rows into a few learned
seed vectors. Nothing depends on the order of the rows, so permuting them leaves the output
unchanged (up to float rounding). Padding rows (to batch datasets of different ``n``) are
masked out of every attention.

Row features: the values, the column mask and (``products=True``) the product of every pair of
slots; averaged over rows, the products are the correlation matrix, the sufficient statistic of
the Gaussian families, which the network then need not learn to form.

Columns: X fills slots ``0..d_max-1`` and Y slots ``d_max..2 d_max-1`` of each row, unused slots
are zero, and a 0/1 column mask rides along with every row, so the network knows both the
dimensions and the boundary between X and Y (``d_x != d_y`` is allowed).

Quantile head: from the pooled vector ``h`` (and :math:`\log n`), it outputs a median
:math:`m(h) \ge 0` and non-negative weights :math:`w_j(h)` of fixed increasing functions
:math:`b_j` with :math:`b_j(0) = 0`; the :math:`\tau`-quantile is

.. math::

    q_\tau = m + \sum_j w_j\, b_j(\Phi^{-1}(\tau)),

so quantiles are increasing in :math:`\tau` by construction and :math:`q_{0.5} = m` exactly.
Training minimises the pinball loss at random :math:`\tau`
(:func:`infofusion.measures.mi.mist_model.pinball_loss`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class MISTConfig:
    """Architecture and input convention of a :class:`MISTNet` (saved with every checkpoint).

    Attributes:
        d_max: most columns per side.
        n_min: fewest rows the network was trained on.
        n_max: most rows per forward pass (larger samples are split into chunks).
        width: token width.
        heads: attention heads.
        inducing: inducing points of each ISAB.
        blocks: number of ISAB blocks.
        seeds: PMA seed vectors.
        hidden: width of the head MLP.
        products: add the products of every pair of slots to each row's features (their means
            over rows are the correlations, which the network would otherwise have to learn to
            form).
        canonical: give the head the sample canonical correlations of the (normalised) columns
            and their Gaussian MI :math:`-\\tfrac12 \\sum \\log(1 - r_i^2)`.
        normalize: input normalisation per column: ``"copula"`` (ranks to normal scores) or
            ``"standard"`` (zero mean, unit variance).
    """

    d_max: int = 8
    n_min: int = 32
    n_max: int = 256
    width: int = 64
    heads: int = 4
    inducing: int = 16
    blocks: int = 2
    seeds: int = 4
    hidden: int = 128
    products: bool = True
    canonical: bool = True
    normalize: str = "copula"

    def to_dict(self) -> dict:
        return asdict(self)


def pinball_loss(q: torch.Tensor, target: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss :math:`\\max(\\tau e, (\\tau - 1) e)`, :math:`e = t - q`.

    Args:
        q: ``(B, T)`` predicted quantiles.
        target: ``(B,)`` true values.
        tau: ``(B, T)`` or ``(T,)`` quantile levels in ``(0, 1)``.

    Returns:
        Scalar mean over all entries.

    Example:
        >>> q = torch.tensor([[1.0, 2.0]]); t = torch.tensor([1.5]); tau = torch.tensor([0.1, 0.9])
        >>> round(float(pinball_loss(q, t, tau)), 6)  # (0.1 * 0.5 + 0.1 * 0.5) / 2
        0.05
    """
    e = target[:, None] - q
    return torch.maximum(tau * e, (tau - 1) * e).mean()


class _Attention(nn.Module):
    """Multi-head scaled dot-product attention of queries over (unpadded) keys."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)

    def forward(self, q: torch.Tensor, kv: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        b, nq, w = q.shape
        h = self.heads
        qh = self.q(q).view(b, nq, h, w // h).transpose(1, 2)  # (B, H, Q, W/H)
        k, v = (t.view(b, -1, h, w // h).transpose(1, 2) for t in self.kv(kv).chunk(2, -1))
        keep = None if pad is None else ~pad[:, None, None, :]  # (B, 1, 1, K): True attends
        o = nn.functional.scaled_dot_product_attention(qh, k, v, attn_mask=keep)
        return self.out(o.transpose(1, 2).reshape(b, nq, w))


class _MAB(nn.Module):
    """Multihead attention block: queries attend to keys, then a residual feed-forward."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.att = _Attention(width, heads)
        self.ln1 = nn.LayerNorm(width)
        self.ln2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, q: torch.Tensor, kv: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        # q: (B, Q, W), kv: (B, K, W), pad: (B, K) True where kv is padding
        h = self.ln1(q + self.att(q, kv, pad))
        return self.ln2(h + self.ff(h))


class _ISAB(nn.Module):
    """Induced set attention: inducing points summarise the rows, the rows read the summary."""

    def __init__(self, width: int, heads: int, inducing: int) -> None:
        super().__init__()
        self.points = nn.Parameter(torch.randn(1, inducing, width) / math.sqrt(width))
        self.down = _MAB(width, heads)
        self.up = _MAB(width, heads)

    def forward(self, rows: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        h = self.down(self.points.expand(rows.shape[0], -1, -1), rows, pad)  # (B, m, W)
        return self.up(rows, h, None)  # (B, N, W)


def _basis(z: torch.Tensor) -> torch.Tensor:
    """Increasing functions of ``z`` vanishing at 0: ``(...,)`` -> ``(..., 9)``."""
    ln2 = math.log(2.0)
    parts = [z]
    parts += [c * torch.tanh(z / c) for c in (0.25, 0.5, 1.0, 2.0)]
    for s in (1.0, 3.0):
        parts.append((nn.functional.softplus(s * z) - ln2) / s)  # steeper above the median
        parts.append(-(nn.functional.softplus(-s * z) - ln2) / s)  # steeper below
    return torch.stack(parts, dim=-1)


N_BASIS = 9


class MISTNet(nn.Module):
    """Set transformer over the rows of a dataset, predicting quantiles of its MI (nats).

    Args:
        cfg: architecture (:class:`MISTConfig`).
    """

    def __init__(self, cfg: MISTConfig = MISTConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        slots = 2 * cfg.d_max
        pairs = (
            torch.triu_indices(slots, slots)
            if cfg.products
            else torch.zeros(2, 0, dtype=torch.long)
        )
        self.register_buffer("pairs", pairs, persistent=False)
        self.embed = nn.Sequential(
            nn.Linear(2 * slots + pairs.shape[1], 2 * w), nn.GELU(), nn.Linear(2 * w, w)
        )  # values, column mask and products of slots -> token
        self.blocks = nn.ModuleList(_ISAB(w, cfg.heads, cfg.inducing) for _ in range(cfg.blocks))
        self.seeds = nn.Parameter(torch.randn(1, cfg.seeds, w) / math.sqrt(w))
        self.pool = _MAB(w, cfg.heads)
        self.head = nn.Sequential(
            nn.Linear(cfg.seeds * w + 3 + (cfg.d_max + 1 if cfg.canonical else 0), cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.GELU(),
            nn.Linear(cfg.hidden, 1 + N_BASIS),
        )

    def forward(
        self, rows: torch.Tensor, row_mask: torch.Tensor, col_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Median and quantile-shape weights of each dataset in a batch.

        Args:
            rows: ``(B, N, 2 d_max)`` normalised values, X in the first ``d_max`` slots.
            row_mask: ``(B, N)`` bool, True for real rows (False: padding).
            col_mask: ``(B, 2 d_max)`` float 0/1, which slots hold a column.

        Returns:
            ``median`` ``(B,)`` (non-negative) and ``weights`` ``(B, N_BASIS)`` (non-negative).
        """
        b, n, _ = rows.shape
        vals = rows * col_mask[:, None, :]
        prods = vals[..., self.pairs[0]] * vals[..., self.pairs[1]]  # (B, N, P)
        feats = torch.cat([vals, col_mask[:, None, :].expand(b, n, -1), prods], -1)
        tok = self.embed(feats)  # (B, N, W)
        pad = ~row_mask
        for block in self.blocks:
            tok = block(tok, pad)
        pooled = self.pool(self.seeds.expand(b, -1, -1), tok, pad)  # (B, S, W)
        d = self.cfg.d_max
        summary = [
            torch.log(row_mask.sum(1).to(tok.dtype))[:, None] / math.log(self.cfg.n_max),
            col_mask[:, :d].sum(1, keepdim=True) / d,
            col_mask[:, d:].sum(1, keepdim=True) / d,
        ]
        if self.cfg.canonical:
            r = canonical_correlations(vals, row_mask, col_mask, d)  # (B, d_max)
            summary += [r, -0.5 * torch.log1p(-(r**2)).sum(1, keepdim=True)]
        out = self.head(torch.cat([pooled.flatten(1), *summary], -1))  # (B, 1 + N_BASIS)
        return nn.functional.softplus(out[:, 0]), nn.functional.softplus(out[:, 1:])

    @staticmethod
    def quantiles(median: torch.Tensor, weights: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` quantiles at levels ``tau`` (``(T,)`` or ``(B, T)``, inside ``(0, 1)``)."""
        z = torch.special.ndtri(tau.clamp(1e-4, 1 - 1e-4))
        z = z.expand(median.shape[0], -1) if z.dim() == 1 else z
        return median[:, None] + (_basis(z) * weights[:, None, :]).sum(-1)


def canonical_correlations(
    vals: torch.Tensor, row_mask: torch.Tensor, col_mask: torch.Tensor, d_max: int
) -> torch.Tensor:
    """Sample canonical correlations between the X and Y slots, sorted, zero where absent.

    Args:
        vals: ``(B, N, 2 d_max)`` values (zero in unused slots and padding rows allowed).
        row_mask: ``(B, N)`` True for real rows.
        col_mask: ``(B, 2 d_max)`` 1 for used slots.
        d_max: slots per side.

    Returns:
        ``(B, d_max)`` in ``[0, 0.999]``, descending; invariant to the order of rows and to
        invertible linear maps of either side's columns.
    """
    m = row_mask.to(vals.dtype)[..., None]  # (B, N, 1)
    n = m.sum(1, keepdim=True)  # (B, 1, 1)
    centred = (vals - (vals * m).sum(1, keepdim=True) / n) * m * col_mask[:, None, :]
    cov = centred.transpose(1, 2) @ centred / n  # (B, 2d, 2d)
    # unused slots: unit variance, uncorrelated (they add canonical correlations of 0)
    eye = torch.eye(2 * d_max, dtype=vals.dtype)
    cov = cov + eye * (1 - col_mask)[:, None, :] + 1e-4 * eye
    lx = torch.linalg.cholesky(cov[:, :d_max, :d_max])
    ly = torch.linalg.cholesky(cov[:, d_max:, d_max:])
    a = torch.linalg.solve_triangular(lx, cov[:, :d_max, d_max:], upper=False)
    white = torch.linalg.solve_triangular(ly, a.transpose(1, 2), upper=False)  # Ly^-1 Cyx Lx^-T
    return torch.linalg.svdvals(white).clamp(max=0.999)


# ------------------------------------------------------------------------------ inputs


def normalize_columns(a: np.ndarray, how: str) -> np.ndarray:
    """Per-column normalisation of ``(N, D)``: ``copula`` (normal scores of ranks) or ``standard``."""
    if how == "copula":
        from infofusion.measures.mi.gaussian import copula_normalize

        return copula_normalize(a)
    if how == "standard":
        std = a.std(axis=0)
        return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)
    raise ValueError(f"unknown normalisation '{how}' (copula, standard)")


def pack(
    pairs: list[tuple[np.ndarray, np.ndarray]], d_max: int, normalize: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalise and pad datasets into one batch.

    Args:
        pairs: ``(x, y)`` per dataset, shapes ``(n_i, dx_i)`` and ``(n_i, dy_i)``, dims <= ``d_max``.
        d_max: slots per side.
        normalize: see :func:`normalize_columns`.

    Returns:
        ``rows`` ``(B, N, 2 d_max)`` float32, ``row_mask`` ``(B, N)`` bool, ``col_mask``
        ``(B, 2 d_max)`` float32, with ``N`` the largest ``n_i``.
    """
    b, n = len(pairs), max(x.shape[0] for x, _ in pairs)
    rows = np.zeros((b, n, 2 * d_max), dtype=np.float32)
    row_mask = np.zeros((b, n), dtype=bool)
    col_mask = np.zeros((b, 2 * d_max), dtype=np.float32)
    for i, (x, y) in enumerate(pairs):
        ni, dx, dy = x.shape[0], x.shape[1], y.shape[1]
        rows[i, :ni, :dx] = normalize_columns(x, normalize)
        rows[i, :ni, d_max : d_max + dy] = normalize_columns(y, normalize)
        row_mask[i, :ni] = True
        col_mask[i, :dx] = 1
        col_mask[i, d_max : d_max + dy] = 1
    return torch.from_numpy(rows), torch.from_numpy(row_mask), torch.from_numpy(col_mask)
