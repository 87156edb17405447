r"""Cauchy–Schwarz quadratic mutual information (CS-QMI) as an estimator, and the CS-IB loss.

:math:`I_{CS}(X; Y) = D_{CS}(p_{XY}; p_X p_Y)` with Gaussian kernels (Yu et al., 2024; see
:mod:`infofusion.functional.cauchy_schwarz` for the definitions). It is a closed form -- no
training, no density model -- and, for the empirical estimate, exactly non-negative (it is the
Cauchy–Schwarz inequality between the kernel mean embeddings of the joint sample and of the
product of its marginals). It is **not** Shannon MI: it is zero under independence and grows
with dependence, but it is a quadratic (Rényi-type) quantity whose value depends on the kernel
width; compare CS-QMI values only at equal widths.

With K the Gram of x, Q the Gram of y, row sums :math:`r = K1`, :math:`s = Q1` and
:math:`t_i = \sum_j K_{ij} Q_{ij}`, the estimate is
:math:`\log \sum_i t_i + \log \sum_i r_i + \log \sum_i s_i - 2 \log \sum_i r_i s_i` (the powers
of N cancel). The estimator computes it in blocks of rows (memory O(block N), time O(N^2 D)) and
its standard error by the delete-one jackknife, which the same sums give in closed form
(:math:`Ks` and :math:`Qr` are the only extra products).

Bandwidth rule: every column is standardised, then each side's kernel width is the median
pairwise Euclidean distance of that side (on a subsample of at most 2000 rows), unless
``sigma`` is given.

:class:`CSIBLoss` is the CS information-bottleneck objective for regression as a module; the same
objective is available to every fusion method as ``regression_loss="cs_ib"``
(:class:`infofusion.methods.base.FusionMethod`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from infofusion.functional.cauchy_schwarz import cs_ib_loss
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, check, standardize
from infofusion.registry import register

_BLOCK_BYTES = 16 * 2**20


def gaussian_cs_qmi(rho: float, sigma: float = 1.0) -> float:
    """Closed-form CS-QMI (nats) of a bivariate Gaussian with unit variances and correlation rho.

    With one kernel width sigma on both sides, :math:`a = 1 + 2/\\sigma^2`, :math:`b = \\rho /
    \\sigma^2`: :math:`I_{CS} = -\\tfrac12 \\ln(a^2 - 4b^2) - \\ln a + \\ln(a^2 - b^2)`.

    Example:
        >>> round(gaussian_cs_qmi(0.5), 4), round(gaussian_cs_qmi(0.9), 4)
        (0.0307, 0.1288)
    """
    a, b = 1.0 + 2.0 / sigma**2, rho / sigma**2
    return -0.5 * math.log(a * a - 4 * b * b) - math.log(a) + math.log(a * a - b * b)


def median_distance(a: np.ndarray, max_rows: int = 2000, seed: int = 0) -> float:
    """Median pairwise Euclidean distance of the rows of ``(N, D)`` (subsampled to max_rows)."""
    if a.shape[0] > max_rows:
        a = a[np.random.default_rng(seed).choice(a.shape[0], max_rows, replace=False)]
    sq = (a * a).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * a @ a.T, 0.0)
    iu = np.triu_indices(a.shape[0], 1)
    med = float(np.sqrt(np.median(d2[iu])))
    return med if med > 0 else 1.0


def _gram_block(a_blk: np.ndarray, a: np.ndarray, sq: np.ndarray, sigma: float) -> np.ndarray:
    d2 = sq[a_blk[1]][:, None] + sq[None, :] - 2.0 * a_blk[0] @ a.T
    return np.exp(-np.maximum(d2, 0.0) / (2.0 * sigma**2))


def cs_qmi_jackknife(
    x: np.ndarray, y: np.ndarray, sigma_x: float, sigma_y: float
) -> tuple[float, np.ndarray]:
    """CS-QMI of ``(N, Dx)``, ``(N, Dy)`` and its N delete-one jackknife values (nats).

    Returns:
        ``(value, leave_one_out)`` with ``leave_one_out`` of shape ``(N,)``.
    """
    n = x.shape[0]
    b = int(max(1, min(n, _BLOCK_BYTES // (16 * n))))
    sqx, sqy = (x * x).sum(1), (y * y).sum(1)
    r, s, t = np.empty(n), np.empty(n), np.empty(n)
    for start in range(0, n, b):
        idx = np.arange(start, min(n, start + b))
        kb = _gram_block((x[idx], idx), x, sqx, sigma_x)
        qb = _gram_block((y[idx], idx), y, sqy, sigma_y)
        r[idx], s[idx], t[idx] = kb.sum(1), qb.sum(1), (kb * qb).sum(1)
    u, v = np.empty(n), np.empty(n)  # u = K s, v = Q r
    for start in range(0, n, b):
        idx = np.arange(start, min(n, start + b))
        u[idx] = _gram_block((x[idx], idx), x, sqx, sigma_x) @ s
        v[idx] = _gram_block((y[idx], idx), y, sqy, sigma_y) @ r
    sa, sk, sq_, sc = t.sum(), r.sum(), s.sum(), (r * s).sum()
    value = math.log(sa) + math.log(sk) + math.log(sq_) - 2.0 * math.log(sc)
    # leave sample m out (K_mm = Q_mm = 1): each sum loses its row and column m
    sa_m = sa - 2.0 * t + 1.0
    sk_m = sk - 2.0 * r + 1.0
    sq_m = sq_ - 2.0 * s + 1.0
    sc_m = sc - u - v + t - (r - 1.0) * (s - 1.0)
    loo = np.log(sa_m) + np.log(sk_m) + np.log(sq_m) - 2.0 * np.log(sc_m)
    return value, loo


@dataclass(frozen=True)
class CSQMIParams:
    """Parameters of the CS-QMI estimator.

    Attributes:
        sigma: kernel width of both sides (``None``: each side's median pairwise distance).
        standardize: scale every column to zero mean, unit variance first.
        seed: seed of the subsample used by the median rule.
    """

    sigma: float | None = None
    standardize: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.sigma is None or self.sigma > 0, "sigma", self.sigma, "None or > 0")


@register(
    "estimator",
    "cs_qmi",
    help="Cauchy-Schwarz quadratic MI (kernel closed form); a dependence measure, not Shannon MI.",
)
class CSQMIEstimator(MIEstimatorBase):
    """Cauchy–Schwarz quadratic MI in closed form, with a jackknife standard error.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000); y = 0.9 * x + np.sqrt(1 - 0.81) * rng.standard_normal(2000)
        >>> est = CSQMIEstimator(sigma=1.0, standardize=False).estimate(x, y)
        >>> bool(abs(est.value - gaussian_cs_qmi(0.9)) < 0.01)
        True
    """

    name = "cs_qmi"
    Params = CSQMIParams
    quantity = "cs_qmi"
    min_samples = 4

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: CSQMIParams = self._params
        if p.standardize:
            x, y = standardize(x), standardize(y)
        sx = p.sigma if p.sigma is not None else median_distance(x, seed=p.seed)
        sy = p.sigma if p.sigma is not None else median_distance(y, seed=p.seed)
        value, loo = cs_qmi_jackknife(x, y, sx, sy)
        n = x.shape[0]
        stderr = float(math.sqrt((n - 1) / n * ((loo - loo.mean()) ** 2).sum()))
        return Estimate(
            value=max(value, 0.0),  # >= 0 exactly; only rounding can dip below
            stderr=stderr,
            extra={"sigma_x": sx, "sigma_y": sy},
        )


class CSIBLoss(nn.Module):
    """The CS information-bottleneck objective for regression as a loss module.

    ``forward(x, t, y, y_hat)`` returns
    :math:`D_{CS}(p(y|x); q(\\hat y|x)) + \\beta\\, I_{CS}(x; t)` (normalised compression term by
    default); see :func:`infofusion.functional.cauchy_schwarz.cs_ib_loss`.

    Args:
        beta: weight of the compression term.
        normalize: divide the compression term by :math:`\\sqrt{I_{CS}(x;x) I_{CS}(t;t)}`.

    Example:
        >>> import torch
        >>> loss = CSIBLoss(beta=0.01)
        >>> x, t = torch.randn(64, 5), torch.randn(64, 8)
        >>> y = torch.randn(64)
        >>> loss(x, t, y, y + 0.1 * torch.randn(64)).shape
        torch.Size([])
    """

    def __init__(self, beta: float = 0.01, normalize: bool = True) -> None:
        super().__init__()
        self.beta, self.normalize = beta, normalize
        self.last_terms: dict[str, torch.Tensor] = {}

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor
    ) -> torch.Tensor:
        loss, self.last_terms = cs_ib_loss(x, t, y, y_hat, self.beta, self.normalize)
        return loss
