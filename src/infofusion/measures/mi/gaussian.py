"""Gaussian (CCA) mutual information in closed form, optionally on a Gaussian copula.

Under joint Gaussianity

.. math::

    I(X; Y) = \\tfrac12 \\left(\\log|\\Sigma_X| + \\log|\\Sigma_Y| - \\log|\\Sigma_{XY}|\\right)
            = -\\tfrac12 \\sum_i \\log(1 - \\rho_i^2)

with :math:`\\rho_i` the canonical correlations, and
:math:`I(X; Y | Z) = \\tfrac12(\\log|\\Sigma_{XZ}| + \\log|\\Sigma_{YZ}| - \\log|\\Sigma_Z|
- \\log|\\Sigma_{XYZ}|)`. Each log-determinant is bias-corrected for the sample size (the
Wishart expectation), which matters in high dimension: uncorrected, a 25 x 25 task at n = 5000
is overestimated by about :math:`d_x d_y / 2n` = 0.06 nats.

With ``copula=True`` every column is first mapped to normal scores through its ranks (the
Gaussian-copula MI of Ince et al., 2017). MI is invariant under invertible per-coordinate maps,
and this estimate is too, exactly; for non-Gaussian copulas it is a lower bound in expectation
(the Gaussian copula has maximum entropy for a given normal-scores correlation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, ndtri
from scipy.stats import rankdata

from infofusion.errors import EstimationError
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, check, mean_with_stderr, standardize
from infofusion.registry import register


def copula_normalize(a: np.ndarray) -> np.ndarray:
    """Map each column to standard-normal scores through its ranks (ties get average ranks)."""
    n = a.shape[0]
    return ndtri(rankdata(a, axis=0) / (n + 1))


#: a standardised column whose variance left after regressing it on the columns before it is
#: below this is treated as a linear function of them (the covariance is singular).
SINGULAR_TOL = 1e-10


def _logdet_and_influence(
    block: np.ndarray, ridge: float, what: str = "the data"
) -> tuple[float, np.ndarray]:
    """Bias-corrected log-determinant of the covariance of ``(N, D)`` centred data.

    Returns the estimate and each sample's influence on it, ``u_i^T S^{-1} u_i - D``, whose
    variance over samples gives the delta-method standard error.

    Raises:
        EstimationError: the covariance is singular (with ``ridge=0``) -- collinear columns.
    """
    n, d = block.shape
    if d == 0:
        return 0.0, np.zeros(n)
    cov = block.T @ block / (n - 1)
    cov.flat[:: d + 1] += ridge
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        chol = None
    # the squared Cholesky pivots are the residual variances of each column given the previous
    # ones; a pivot at rounding level means an exact linear relation that a tiny ridge would
    # only turn into a large arbitrary number
    if chol is None or float(np.min(np.diag(chol))) ** 2 - ridge < SINGULAR_TOL:
        raise EstimationError(
            f"the covariance of {what} ({d} columns, {n} samples) is singular: a column is a "
            "linear function of the others (duplicated or collinear columns; MI under "
            "Gaussianity is infinite when one side determines the other). Drop the redundant "
            "columns, or pass ridge=... (e.g. 1e-6) to regularise"
        )
    logdet = 2.0 * float(np.log(np.diag(chol)).sum())
    # E[log|S|] = log|Sigma| + d log(2 / (n - 1)) + sum_i psi((n - i) / 2)
    logdet -= d * math.log(2.0 / (n - 1)) + float(digamma((n - np.arange(1, d + 1)) / 2.0).sum())
    white = np.linalg.solve(chol, block.T)  # (D, N); column i is L^{-1} u_i
    influence = (white**2).sum(axis=0) - d
    return logdet, influence


def gaussian_mi(
    x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, ridge: float = 0.0
) -> tuple[float, np.ndarray]:
    """Gaussian I(X; Y) or I(X; Y | Z) and per-sample influence terms (their mean is ~0).

    Args:
        x: ``(N, Dx)``; y: ``(N, Dy)``; z: ``(N, Dz)`` or ``None``.
        ridge: added to the covariance diagonal (relative to unit variance); 0 refuses singular
            covariances instead of regularising them.

    Returns:
        ``(mi, influence)``; ``influence.std() / sqrt(N)`` is the standard error.

    Raises:
        EstimationError: fewer than ``D + 2`` samples for the ``D`` joint columns, or a singular
            covariance (collinear columns).
    """
    parts = [x, y] if z is None else [x, y, z]
    data = standardize(np.hstack(parts))
    n, d = data.shape
    if n < d + 2:
        raise EstimationError(
            f"the Gaussian estimator needs at least D + 2 = {d + 2} samples for the {d} "
            f"columns of x, y{'' if z is None else ', z'} together, got {n}; reduce the "
            "dimension (e.g. PCA) or use more samples"
        )
    dx, dy = x.shape[1], y.shape[1]
    ix, iy = np.arange(dx), np.arange(dx, dx + dy)
    iz = np.arange(dx + dy, d)
    terms = (
        (np.concatenate([ix, iz]), 1.0, "x" if z is None else "(x, z)"),
        (np.concatenate([iy, iz]), 1.0, "y" if z is None else "(y, z)"),
        (iz, -1.0, "z"),
        (np.arange(d), -1.0, "(x, y)" if z is None else "(x, y, z)"),
    )
    mi = 0.0
    influence = np.zeros(n)
    for cols, sign, what in terms:
        ld, inf = _logdet_and_influence(data[:, cols], ridge, what)
        mi += 0.5 * sign * ld
        influence += 0.5 * sign * inf
    return mi, influence


@dataclass(frozen=True)
class GaussianParams:
    """Parameters of the Gaussian / CCA estimator.

    Attributes:
        copula: rank-transform every column to normal scores first (Gaussian-copula MI).
        ridge: diagonal regulariser of the standardised covariance (0: a singular covariance
            raises instead of giving a large arbitrary value).
        clip_negative: report ``max(0, value)``.
    """

    copula: bool = False
    ridge: float = 0.0
    clip_negative: bool = False

    def __post_init__(self) -> None:
        check(self.ridge >= 0, "ridge", self.ridge, ">= 0")


@register(
    "estimator", "gaussian", help="Closed-form MI under joint Gaussianity (CCA); conditional too."
)
class GaussianEstimator(MIEstimatorBase):
    """Closed-form MI under joint Gaussianity (CCA), bias-corrected; conditional MI too.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000); y = 0.8 * x + 0.6 * rng.standard_normal(2000)
        >>> est = GaussianEstimator().estimate(x, y)
        >>> bool(abs(est.value - (-0.5 * np.log(1 - 0.8**2))) < 0.05)
        True
    """

    name = "gaussian"
    Params = GaussianParams
    supports_conditional = True

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: GaussianParams = self._params
        if p.copula:
            x, y = copula_normalize(x), copula_normalize(y)
            z = None if z is None else copula_normalize(z)
        mi, influence = gaussian_mi(x, y, z, ridge=p.ridge)
        _, stderr = mean_with_stderr(influence)
        extra = {}
        if z is None and min(x.shape[1], y.shape[1]) <= 64:
            extra["canonical_correlations"] = canonical_correlations(x, y).tolist()
        return Estimate(value=max(mi, 0.0) if p.clip_negative else mi, stderr=stderr, extra=extra)


@register(
    "estimator",
    "gcmi",
    help="Gaussian-copula MI: the Gaussian estimate on rank-normalised columns.",
)
class GaussianCopulaEstimator(GaussianEstimator):
    """Gaussian-copula MI (Ince et al., 2017): invariant under monotone per-column maps."""

    name = "gcmi"

    def __init__(self, progress=None, **params) -> None:  # type: ignore[no-untyped-def]
        params.setdefault("copula", True)
        super().__init__(progress, **params)


def canonical_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Canonical correlations of ``(N, Dx)`` and ``(N, Dy)``, largest first."""

    def whiten(a: np.ndarray) -> np.ndarray:
        q, _ = np.linalg.qr(standardize(a))
        return q

    return np.clip(np.linalg.svd(whiten(x).T @ whiten(y), compute_uv=False), 0.0, 1.0)
