"""Plug-in MI for discrete data (Miller–Madow corrected) and Ross's estimator for mixed data.

* ``plugin``: entropies from empirical frequencies, each corrected by Miller–Madow,
  :math:`\\hat H_{MM} = \\hat H + (m - 1) / 2N` with m the number of observed symbols, so
  :math:`I = H_X + H_Y - H_{XY}` (and the four-term conditional form with Z). Multi-column data
  are read as joint symbols (one per distinct row); continuous columns can be discretised into
  equal-frequency bins with ``bins=``.
* ``mixed``: one side discrete, the other continuous (Ross, 2014): for each sample, the distance
  to its k-th neighbour among samples of the same class sets a ball in which all samples are
  counted, :math:`I = \\psi(N) - \\langle\\psi(N_c)\\rangle + \\psi(k) - \\langle\\psi(m)\\rangle`.
  Ties on the continuous side (rounded data) are handled as Gao et al. (2017) do for mixed
  variables: where the k-th same-class neighbour is at distance 0, k becomes the number of
  same-class samples at distance 0 and m the number of all samples there, so repeated values
  give a finite estimate (for a continuous side that only repeats the class, the plug-in MI).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from infofusion.errors import EstimationError
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, check, mean_with_stderr, standardize
from infofusion.measures.mi.ksg import count_within
from infofusion.registry import register


def symbols(a: np.ndarray) -> np.ndarray:
    """``(N, D)`` rows -> ``(N,)`` integer codes, one per distinct row."""
    return np.unique(a, axis=0, return_inverse=True)[1].reshape(-1)


def equal_frequency_bins(a: np.ndarray, bins: int) -> np.ndarray:
    """Discretise each column into ``bins`` equal-frequency bins (ties stay together)."""
    out = np.empty(a.shape, dtype=np.int64)
    for j in range(a.shape[1]):
        edges = np.unique(np.quantile(a[:, j], np.linspace(0, 1, bins + 1)[1:-1]))
        out[:, j] = np.searchsorted(edges, a[:, j], side="right")
    return out


def _is_discrete(a: np.ndarray, max_levels: int) -> bool:
    return bool(np.all(a == np.round(a))) and len(np.unique(a, axis=0)) <= max_levels


def _entropy_terms(codes: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-sample ``-log p(code_i)`` and the Miller–Madow correction ``(m - 1) / 2N``."""
    _, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    n = codes.shape[0]
    return -np.log(counts[inverse.reshape(-1)] / n), (len(counts) - 1) / (2.0 * n)


def plugin_mi(
    x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None, miller_madow: bool = True
) -> tuple[float, np.ndarray]:
    """Plug-in I(X; Y) or I(X; Y | Z) on discrete ``(N, D)`` arrays.

    Returns:
        ``(mi, pointwise)``: the (corrected) estimate and per-sample plug-in log ratios
        :math:`\\log p(x, y | z) / p(x | z) p(y | z)`, whose mean is the uncorrected estimate.
    """
    cx, cy = symbols(x), symbols(y)
    cz = np.zeros_like(cx) if z is None else symbols(z)
    # I = H(XZ) + H(YZ) - H(Z) - H(XYZ); with no Z, H(Z) = 0 and the formula is the usual one
    terms = (
        (np.stack([cx, cz], 1), 1.0),
        (np.stack([cy, cz], 1), 1.0),
        (cz[:, None], -1.0),
        (np.stack([cx, cy, cz], 1), -1.0),
    )
    pointwise = np.zeros(cx.shape[0])
    correction = 0.0
    for codes, sign in terms:
        h, mm = _entropy_terms(symbols(codes))
        pointwise += sign * h
        correction += sign * mm
    value = float(pointwise.mean()) + (correction if miller_madow else 0.0)
    return value, pointwise


@dataclass(frozen=True)
class PluginParams:
    """Parameters of the plug-in estimator.

    Attributes:
        miller_madow: apply the Miller–Madow bias correction to every entropy.
        bins: discretise every column into this many equal-frequency bins first (``None``:
            the data must already be discrete).
        max_levels: refuse data with more distinct symbols per side than this when ``bins`` is
            ``None`` (continuous data passed by mistake).
    """

    miller_madow: bool = True
    bins: int | None = None
    max_levels: int = 1000

    def __post_init__(self) -> None:
        check(self.bins is None or self.bins >= 2, "bins", self.bins, "None or >= 2")
        check(self.max_levels >= 2, "max_levels", self.max_levels, ">= 2")


@register(
    "estimator",
    "plugin",
    help="Plug-in MI for discrete data with Miller-Madow correction; conditional too.",
)
class PluginEstimator(MIEstimatorBase):
    """Plug-in (frequency) MI for discrete data, Miller–Madow corrected; conditional MI too.

    Example:
        >>> import numpy as np
        >>> x = np.array([0, 1] * 500); y = x.copy()
        >>> round(PluginEstimator(miller_madow=False).estimate(x, y).value, 3)  # log 2
        0.693
    """

    name = "plugin"
    Params = PluginParams
    supports_conditional = True
    data_type = "discrete"
    min_samples = 2

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: PluginParams = self._params
        sides = {"x": x, "y": y} if z is None else {"x": x, "y": y, "z": z}
        for label, a in sides.items():
            if p.bins is not None:
                sides[label] = equal_frequency_bins(a, p.bins)
            elif not _is_discrete(a, p.max_levels):
                raise EstimationError(
                    f"{label} does not look discrete (non-integer values or more than "
                    f"{p.max_levels} distinct rows); pass bins=... to discretise it, or use "
                    "'ksg' (continuous) or 'mixed' (one side discrete)"
                )
        value, pointwise = plugin_mi(sides["x"], sides["y"], sides.get("z"), p.miller_madow)
        _, stderr = mean_with_stderr(pointwise)
        return Estimate(value=value, stderr=stderr)


@dataclass(frozen=True)
class MixedParams:
    """Parameters of Ross's mixed discrete/continuous estimator.

    Attributes:
        k: neighbours within the same class.
        discrete: which side is discrete (``auto``: the side with integer values and fewer
            distinct rows).
        standardize: scale the continuous side to unit variance.
        max_levels: most classes a side may have to be taken as discrete by ``auto``.
    """

    k: int = 3
    discrete: Literal["auto", "x", "y"] = "auto"
    standardize: bool = True
    max_levels: int = 1000

    def __post_init__(self) -> None:
        check(isinstance(self.k, int) and self.k >= 1, "k", self.k, "an integer >= 1")
        check(self.discrete in ("auto", "x", "y"), "discrete", self.discrete, "'auto', 'x' or 'y'")


def ross_terms(labels: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """Per-sample terms of Ross's estimator (samples whose class is a singleton are dropped).

    Args:
        labels: ``(N,)`` integer classes; c: ``(N, D)`` continuous values.
    """
    n = labels.shape[0]
    radius = np.zeros(n)
    n_class = np.zeros(n)
    k_used = np.zeros(n)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_class[members] = len(members)
        if len(members) < 2:
            continue
        kk = min(k, len(members) - 1)
        dist, _ = cKDTree(c[members]).query(c[members], k=kk + 1, p=np.inf)
        radius[members] = dist[:, kk]
        k_used[members] = kk
        tied = members[dist[:, kk] == 0]
        if len(tied):  # k becomes the number of same-class repeats (the sample excluded)
            zero = np.zeros(len(members))
            k_used[tied] = count_within(c[members], zero, strict=False)[dist[:, kk] == 0] - 1
    keep = n_class > 1
    if keep.sum() < 2:
        raise EstimationError("every class of the discrete side has a single sample")
    m = count_within(c[keep], radius[keep], strict=True)  # includes the sample itself
    tied = radius[keep] == 0
    if tied.any():  # all samples at distance 0, the sample itself included
        m[tied] = count_within(c[keep], np.zeros(int(keep.sum())), strict=False)[tied]
    return digamma(keep.sum()) - digamma(n_class[keep]) + digamma(k_used[keep]) - digamma(m)


@register("estimator", "mixed", help="Ross's k-NN MI between a discrete and a continuous variable.")
class MixedEstimator(MIEstimatorBase):
    """MI between a discrete and a continuous variable (Ross, 2014)."""

    name = "mixed"
    Params = MixedParams
    data_type = "mixed"

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: MixedParams = self._params
        side = p.discrete
        if side == "auto":
            dx, dy = _is_discrete(x, p.max_levels), _is_discrete(y, p.max_levels)
            if not (dx or dy):
                raise EstimationError(
                    f"neither side looks discrete (integer values, at most {p.max_levels} "
                    "classes); use 'ksg' for two continuous variables"
                )
            side = (
                "x"
                if dx and (not dy or len(np.unique(x, axis=0)) <= len(np.unique(y, axis=0)))
                else "y"
            )
        disc, cont = (x, y) if side == "x" else (y, x)
        if p.standardize:
            cont = standardize(cont)
        terms = ross_terms(symbols(disc), cont, p.k)
        value, stderr = mean_with_stderr(terms)
        return Estimate(
            value=value, stderr=stderr, n=int(terms.shape[0]), extra={"discrete_side": side}
        )
