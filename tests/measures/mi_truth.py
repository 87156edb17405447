"""Closed-form MI of Gaussian test distributions (nats), shared by the MI tests."""

from __future__ import annotations

import numpy as np


def logdet(a: np.ndarray) -> float:
    return float(np.linalg.slogdet(a)[1])


def gaussian_mi(cov: np.ndarray, dx: int, dy: int) -> float:
    """I(X; Y) of a Gaussian with covariance ``cov`` over ``[x (dx), y (dy)]``."""
    ix, iy = np.arange(dx), np.arange(dx, dx + dy)
    return 0.5 * (logdet(cov[np.ix_(ix, ix)]) + logdet(cov[np.ix_(iy, iy)]) - logdet(cov))


def gaussian_cmi(cov: np.ndarray, dx: int, dy: int) -> float:
    """I(X; Y | Z) of a Gaussian over ``[x (dx), y (dy), z (rest)]``."""
    d = cov.shape[0]
    ix, iy, iz = np.arange(dx), np.arange(dx, dx + dy), np.arange(dx + dy, d)
    xz, yz = np.concatenate([ix, iz]), np.concatenate([iy, iz])
    return 0.5 * (
        logdet(cov[np.ix_(xz, xz)])
        + logdet(cov[np.ix_(yz, yz)])
        - logdet(cov[np.ix_(iz, iz)])
        - logdet(cov)
    )


def paired_gaussian(
    n: int, dim: int, rho: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, float]:
    """``dim`` independent pairs (x_i, y_i) with correlation ``rho``; MI = -dim/2 log(1 - rho^2)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, dim))
    return x, y, -0.5 * dim * np.log(1 - rho**2)


def dense_gaussian(
    n: int, dx: int, dy: int, corr: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, float]:
    """Equicorrelated Gaussian (every off-diagonal entry ``corr``), as BMI's dense tasks."""
    d = dx + dy
    cov = np.full((d, d), corr) + (1 - corr) * np.eye(d)
    rng = np.random.default_rng(seed)
    s = rng.multivariate_normal(np.zeros(d), cov, size=n)
    return s[:, :dx], s[:, dx:], gaussian_mi(cov, dx, dy)
