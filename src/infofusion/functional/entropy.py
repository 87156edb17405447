"""Entropy estimators from counts (numpy, nats): plug-in and bias-corrected.

Every function takes a non-negative array of counts of any shape (the cells of one discrete
variable or of a joint table) and returns an estimate of the Shannon entropy of the
distribution the counts were drawn from. The plug-in estimate is biased low by about
``(m - 1) / (2N)`` nats (``m`` occupied cells); the corrections differ in how they behave when
the table is undersampled (``N`` near or below the number of cells):

* ``miller_madow``: plug-in + ``(m - 1) / (2N)`` (first-order correction).
* ``jackknife``: ``N H - (N - 1) mean_i H_{-i}`` (Zahl 1977); leave-one-out values depend only on
  the cell a sample falls in, so it costs one pass over the cells.
* ``grassberger``: Grassberger (2003), ``log N - sum n G(n) / N`` with
  ``G(n) = psi(n) + (-1)^n (psi((n+1)/2) - psi(n/2)) / 2``.
* ``chao_shen``: coverage-adjusted Horvitz-Thompson estimator (Chao & Shen 2003).

Mutual informations built from these as ``H(X) + H(Y) - H(X, Y)`` inherit their biases, which
then partly cancel. When ``X`` has many more cells than samples, none of them is adequate;
:func:`conditional_empirical_bayes` estimates ``H(Y | X)`` directly by letting the cells of
``X`` borrow strength from each other.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

__all__ = [
    "ESTIMATORS",
    "chao_shen",
    "conditional_empirical_bayes",
    "grassberger",
    "jackknife",
    "miller_madow",
    "plugin",
]


def _counts(c: np.ndarray) -> tuple[np.ndarray, float]:
    c = np.asarray(c, dtype=np.float64).ravel()
    c = c[c > 0]
    return c, float(c.sum())


def plugin(counts: np.ndarray) -> float:
    """``-sum p log p`` of the empirical distribution."""
    c, n = _counts(counts)
    if n == 0:
        return 0.0
    return float(np.log(n) - (c * np.log(c)).sum() / n)


def miller_madow(counts: np.ndarray) -> float:
    """Plug-in plus ``(m - 1) / (2 N)``, ``m`` the number of occupied cells."""
    c, n = _counts(counts)
    if n == 0:
        return 0.0
    return plugin(c) + (len(c) - 1) / (2.0 * n)


def jackknife(counts: np.ndarray) -> float:
    """Jackknife bias-corrected plug-in estimate."""
    c, n = _counts(counts)
    if n <= 1:
        return plugin(c)
    s = (c * np.log(c)).sum()
    h = np.log(n) - s / n
    cm = c - 1.0
    t = np.where(cm > 0, cm * np.log(np.where(cm > 0, cm, 1.0)), 0.0)
    h_minus = np.log(n - 1.0) - (s - c * np.log(c) + t) / (n - 1.0)  # leave one out of each cell
    return float(n * h - (n - 1.0) * (c * h_minus).sum() / n)


def grassberger(counts: np.ndarray) -> float:
    """Grassberger's (2003) estimator."""
    c, n = _counts(counts)
    if n == 0:
        return 0.0
    g = special.digamma(c) + 0.5 * (-1.0) ** c * (special.digamma((c + 1.0) / 2.0) - special.digamma(c / 2.0))
    return float(np.log(n) - (c * g).sum() / n)


def chao_shen(counts: np.ndarray) -> float:
    """Coverage-adjusted (Chao-Shen) estimator."""
    c, n = _counts(counts)
    if n == 0:
        return 0.0
    f1 = float((c == 1).sum())
    if f1 >= n:
        f1 = n - 1.0
    pa = (1.0 - f1 / n) * c / n
    return float(-(pa * np.log(pa) / (1.0 - (1.0 - pa) ** n)).sum())


ESTIMATORS = {
    "plugin": plugin,
    "miller_madow": miller_madow,
    "jackknife": jackknife,
    "grassberger": grassberger,
    "chao_shen": chao_shen,
}


def conditional_empirical_bayes(counts: np.ndarray) -> tuple[float, float]:
    """``H(Y | X)`` (nats) with an empirical-Bayes Dirichlet prior shared by the cells of ``X``.

    Every conditional ``p(y | x)`` is given the prior ``Dirichlet(alpha m)`` with ``m`` the
    (add-1/2) marginal of ``y`` and ``alpha`` fitted by maximising the Dirichlet-multinomial
    marginal likelihood of all cells together; each cell's entropy is then its posterior mean,
    ``psi(A + 1) - sum_y (a_y / A) psi(a_y + 1)`` for the posterior ``Dirichlet(a)``, and the
    cells are weighted by their share of the samples. Cells with one or two samples thereby
    learn from the others how deterministic ``y`` tends to be (a small fitted ``alpha``) or how
    close to ``m`` (a large one), which is what makes the estimate usable when ``x`` has about
    as many cells as there are samples.

    Args:
        counts: ``(n_x, n_y)`` counts, one row per cell of ``X``.

    Returns:
        ``(H(Y | X) in nats, fitted alpha)``.
    """
    c = np.asarray(counts, dtype=np.float64)
    c = c[c.sum(axis=1) > 0]
    n = c.sum(axis=1)
    total = float(n.sum())
    if total == 0:
        return 0.0, float("nan")
    m = (c.sum(axis=0) + 0.5) / (total + 0.5 * c.shape[1])

    def neg_log_lik(log_alpha: float) -> float:
        a = np.exp(log_alpha)
        ll = special.gammaln(a) - special.gammaln(a + n)
        ll += (special.gammaln(a * m + c) - special.gammaln(a * m)).sum(axis=1)
        return -float(ll.sum())

    alpha = float(np.exp(optimize.minimize_scalar(neg_log_lik, bounds=(-8.0, 12.0), method="bounded").x))
    post = alpha * m + c
    a_sum = post.sum(axis=1)
    cell_h = special.digamma(a_sum + 1.0) - (post / a_sum[:, None] * special.digamma(post + 1.0)).sum(axis=1)
    return float((n / total * cell_h).sum()), alpha
