"""PID from samples: bias-corrected atoms with calibrated intervals, and the permutation null.

Plug-in PID on clustered data is biased upwards on small samples (synergy above all: with
30 x 30 x 2 cells and N = 1000 samples the plug-in synergy of a noisy parity is 0.3 bits too
high). Of the four atoms, ``R``, ``U1`` and ``U2`` depend only on the pairwise tables
``(x1, y)`` and ``(x2, y)``; only ``S = I(X1, X2; Y) - R - U1 - U2`` involves the full table,
whose entropy is badly undersampled long before the pairwise ones are. The default correction
(``"empirical_bayes"``, chosen on the panel of ``benchmarks/pid_coverage.py`` against the
permutation null, the bootstrap bias estimate alone, and Grassberger, jackknife, Miller-Madow
and Chao-Shen entropies) corrects ``R``, ``U1``, ``U2`` by their bootstrap bias
(``2 plug-in - mean of the resamples``) and estimates ``I(X1, X2; Y) = H(Y) - H(Y | X1, X2)``
with an empirical-Bayes conditional entropy
(:func:`~infofusion.functional.entropy.conditional_empirical_bayes`: the ``(x1, x2)`` cells
share a fitted Dirichlet prior, so cells seen once or twice learn from the others); ``S``
follows from the consistency equation. The bootstrap alone misses most of ``S``'s bias (the
resamples of an undersampled table saturate), and so do the per-table entropy corrections.

Intervals: the corrected estimator is recomputed on every bootstrap resample (the entropy
correction too; the pairwise bias shift held fixed) and the interval is the corrected value
+- z times their spread. What is left of ``S``'s bias after the correction is unknown, so its
interval reaches down to a cross-fitted value (``I(X1, X2; Y)`` from held-out cross-entropy,
biased low): the correction's own uncertainty lies inside the interval. An interval that
reaches 0 is reported one-sided, ``[0, upper]``, with ``upper`` at least the bootstrap quantile
of the plug-in atom and ``1/N`` bits, so it never has zero width.

The **null level** (atoms after permuting ``y`` against the ``(x1, x2)`` pairs: true atoms 0,
the sources' own dependence kept) is reported beside every estimate; a plug-in atom above its
95th percentile is signal. Subtracting its mean (``correction="permutation"``) over-corrects
when there is signal and is kept for comparison only.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, EstimationError
from infofusion.functional import entropy as fent
from infofusion.measures.pid._info import LN2
from infofusion.measures.pid.base import ATOMS, PIDMeasure, PIDResult

#: bias corrections of :func:`estimate_pid`
CORRECTIONS = (
    "empirical_bayes", "grassberger", "jackknife", "miller_madow", "chao_shen", "bootstrap",
    "permutation", "none",
)
ENTROPY_CORRECTIONS = ("empirical_bayes", "grassberger", "jackknife", "miller_madow", "chao_shen")
#: chosen on the panel of benchmarks/pid_coverage.py
DEFAULT_CORRECTION = "empirical_bayes"
UNITS = {"bits": 1.0, "nats": LN2}


@dataclass
class AtomEstimate:
    """One atom estimated from samples.

    Attributes:
        value: bias-corrected estimate.
        plugin: the plug-in value.
        null_mean: mean of the atom under the label-permutation null (NaN without permutations).
        null_q95: 95th percentile of that null (a plug-in value above it is signal).
        ci: interval at the estimate's ``ci_level`` (NaN without resamples).
        stderr: bootstrap standard deviation of the corrected estimator.
        one_sided: the interval reaches the boundary 0 and is reported as ``[0, upper]``.
    """

    value: float
    plugin: float
    null_mean: float
    null_q95: float
    ci: tuple[float, float]
    stderr: float
    one_sided: bool = False


@dataclass
class PIDEstimate:
    """Dataset-level atoms with uncertainty and null level (``unit``: bits or nats).

    Attributes:
        atoms: ``R``, ``U1``, ``U2``, ``S`` with interval, null level and plug-in value.
        plugin: the plug-in decomposition of the whole table (``None`` for estimators that
            have none, e.g. the batch neural estimator).
        n: samples; shape: the discrete problem's ``(n1, n2, ny)``.
        measure: discrete measure used; correction: bias correction; estimator: in ``extra``.
    """

    atoms: dict[str, AtomEstimate]
    plugin: PIDResult | None
    n: int
    shape: tuple[int, int, int]
    measure: str
    n_boot: int
    n_perm: int
    ci_level: float
    seed: int
    seconds: float
    correction: str = DEFAULT_CORRECTION
    unit: str = "bits"
    extra: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        """Corrected atoms ``{"R", "U1", "U2", "S"}``."""
        return {k: a.value for k, a in self.atoms.items()}

    def dominant(self) -> str:
        """The atom with the largest corrected value."""
        return max(self.atoms, key=lambda k: self.atoms[k].value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def in_unit(self, unit: str) -> PIDEstimate:
        """A copy with every atom, interval and null level in ``unit`` (``bits`` or ``nats``)."""
        check_unit(unit)
        f = UNITS[unit] / UNITS[self.unit]
        if f == 1.0:
            return self
        atoms = {
            k: replace(a, value=a.value * f, plugin=a.plugin * f, null_mean=a.null_mean * f,
                       null_q95=a.null_q95 * f, ci=(a.ci[0] * f, a.ci[1] * f), stderr=a.stderr * f)
            for k, a in self.atoms.items()
        }
        return replace(self, atoms=atoms, unit=unit)


def check_unit(unit: str) -> str:
    """``unit`` if it is ``"bits"`` or ``"nats"``, else a :class:`ConfigError` naming it."""
    if unit not in UNITS:
        raise ConfigError(f"unit must be 'bits' or 'nats', got {unit!r}")
    return unit


def _measure(measure: str | PIDMeasure) -> PIDMeasure:
    if isinstance(measure, PIDMeasure):
        return measure
    from infofusion.registry import create

    if not isinstance(measure, str):
        raise ConfigError(f"measure must be a registered name or a PIDMeasure, got {measure!r}")
    return create("pid", measure, check=False, **({"progress": False} if measure == "broja" else {}))


def _labels(v: Any, name: str) -> np.ndarray:
    arr = np.asarray(v)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise EstimationError(f"{name}: expected one label per sample, (N,), got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise EstimationError(f"{name}: labels contain NaN or inf")
    if arr.dtype.kind not in "iubfUSO":
        raise EstimationError(f"{name}: labels must be integers or strings, got dtype {arr.dtype}")
    return np.unique(arr, return_inverse=True)[1].ravel()


def _int_option(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def count_table(x1: Any, x2: Any, y: Any) -> np.ndarray:
    """``(n1, n2, ny)`` counts of three label arrays of equal length (labels re-coded 0..k-1).

    Raises:
        EstimationError: arrays of different lengths, fewer than 2 samples, non-finite or
            multi-column labels.
    """
    a, b, c = _labels(x1, "x1"), _labels(x2, "x2"), _labels(y, "y")
    if not (len(a) == len(b) == len(c)):
        raise EstimationError(
            f"x1, x2 and y need one label per sample each, got lengths {len(a)}, {len(b)}, {len(c)}"
        )
    if len(a) < 2:
        raise EstimationError(f"need at least 2 samples for a PID estimate, got {len(a)}")
    shape = (int(a.max()) + 1, int(b.max()) + 1, int(c.max()) + 1)
    flat = np.ravel_multi_index((a, b, c), shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.float64)


def _crossfit_i12(c: np.ndarray, rng: np.random.Generator, smooth: float = 1.0) -> float:
    """``I(X1, X2; Y)`` (nats) from two-fold held-out cross-entropy of ``p(y | x1, x2)``.

    The counts of every cell are split at random into two halves; ``p(y | x1, x2)`` is fitted on
    one (add-``smooth`` smoothing towards ``p(y)``) and scored on the other. A cross-entropy is
    never below the true conditional entropy in expectation, so this is biased low.
    """
    cz = c.reshape(-1, c.shape[2])
    n = cz.sum()
    half = rng.binomial(cz.astype(np.int64), 0.5).astype(np.float64)
    ce = 0.0
    for tr, te in ((half, cz - half), (cz - half, half)):
        py = (tr.sum(0) + 1.0) / (tr.sum() + tr.shape[1])
        pz = (tr + smooth * py) / (tr.sum(1, keepdims=True) + smooth)
        ce -= float((te * np.log(pz)).sum())
    return fent.plugin(c.sum((0, 1))) - ce / n


class _Fit:
    """Plug-in atoms (bits) of count tables."""

    def __init__(self, measure: PIDMeasure) -> None:
        self.measure = measure

    def __call__(self, c: np.ndarray) -> tuple[np.ndarray, PIDResult]:
        res = self.measure.decompose(c / c.sum())
        return res.as_array(), res


def estimate_pid(
    x1: Any,
    x2: Any,
    y: Any,
    *,
    measure: str | PIDMeasure = "broja",
    n_boot: int = 100,
    n_perm: int = 20,
    ci_level: float = 0.95,
    seed: int = 0,
    correction: str = "auto",
) -> PIDEstimate:
    """PID of three discrete label arrays: bias-corrected atoms, intervals and null level.

    Args:
        x1, x2, y: ``(N,)`` labels (cluster indices for continuous modalities).
        measure: registry name (``"broja"``, ``"imin"``, ``"mmi"``) or a measure instance.
        n_boot: bootstrap resamples (intervals and the pairwise bias need at least 2).
        n_perm: label permutations for the null level (0: none).
        ci_level: interval coverage, in (0, 1).
        seed: seed of resamples, permutations and cross-fitting splits.
        correction: ``"auto"`` (:data:`DEFAULT_CORRECTION`) or one of :data:`CORRECTIONS`.

    Returns:
        :class:`PIDEstimate` in bits.

    Raises:
        EstimationError: invalid labels (see :func:`count_table`).
        ConfigError: an invalid option (named in the message).
    """
    if correction == "auto":
        correction = DEFAULT_CORRECTION
    return compare_corrections(
        x1, x2, y, corrections=(correction,), measure=measure, n_boot=n_boot, n_perm=n_perm,
        ci_level=ci_level, seed=seed,
    )[correction]


def compare_corrections(
    x1: Any,
    x2: Any,
    y: Any,
    *,
    corrections: tuple[str, ...] = CORRECTIONS,
    measure: str | PIDMeasure = "broja",
    n_boot: int = 100,
    n_perm: int = 20,
    ci_level: float = 0.95,
    seed: int = 0,
) -> dict[str, PIDEstimate]:
    """:func:`estimate_pid` for several corrections at once, from the same resamples and
    permutations (how ``benchmarks/pid_coverage.py`` compares them on a panel)."""
    start = time.perf_counter()
    n_boot = _int_option(n_boot, "n_boot", 0)
    n_perm = _int_option(n_perm, "n_perm", 0)
    if isinstance(ci_level, bool) or not (isinstance(ci_level, int | float) and 0.0 < ci_level < 1.0):
        raise ConfigError(f"ci_level must be a number in (0, 1), got {ci_level!r}")
    seed = _int_option(seed, "seed", 0)
    pid = _measure(measure)
    for corr in corrections:
        if corr not in CORRECTIONS:
            raise ConfigError(f"correction must be 'auto' or one of {', '.join(CORRECTIONS)}, got {corr!r}")
        if corr == "permutation" and n_perm < 1:
            raise ConfigError("correction 'permutation' needs n_perm >= 1")
    counts = count_table(x1, x2, y)
    keep = [counts.sum(axis=ax) > 0 for ax in ((1, 2), (0, 2), (0, 1))]
    counts = counts[np.ix_(*keep)]
    n = int(counts.sum())
    fit = _Fit(pid)
    rng = np.random.default_rng(seed)
    base, plugin = fit(counts)

    # Null level: permute y against the (x1, x2) pairs.
    null = np.empty((0, 4))
    if n_perm:
        cells = np.repeat(np.arange(counts.size), counts.ravel().astype(np.int64))
        i1, i2, iy = np.unravel_index(cells, counts.shape)
        rows = []
        for _ in range(n_perm):
            cp = np.zeros(counts.shape)
            np.add.at(cp, (i1, i2, rng.permutation(iy)), 1.0)
            rows.append(fit(cp)[0])
        null = np.array(rows)
    null_mean = null.mean(axis=0) if n_perm else np.full(4, np.nan)
    null_q95 = np.quantile(null, 0.95, axis=0) if n_perm else np.full(4, np.nan)

    # Bootstrap: multinomial resamples of the table (= resampling rows).
    flat = counts.ravel() / n
    boots = []
    for _ in range(n_boot):
        cb = rng.multinomial(n, flat).reshape(counts.shape).astype(np.float64)
        boots.append((cb, fit(cb)[0]))
    plug_b = np.array([b[1] for b in boots]) if boots else np.empty((0, 4))
    shift = plug_b.mean(axis=0) - base if n_boot else np.zeros(4)
    # one cross-fitting split per table, shared by every entropy correction
    crossfit = [_crossfit_i12(counts, rng)] + [_crossfit_i12(b[0], rng) for b in boots]
    z = _z(ci_level)
    out: dict[str, PIDEstimate] = {}
    for corr in corrections:
        low = None
        if corr in ENTROPY_CORRECTIONS:
            # R, U1, U2 depend only on the pairwise tables (x1, y), (x2, y): the bootstrap
            # estimates their bias well. S = I(X1,X2;Y) - R - U1 - U2 carries the bias of the
            # full table, which the bootstrap misses (saturation); I(X1,X2;Y) is corrected.
            value = _entropy_corrected(counts, base, shift, corr)
            reps = np.array([_entropy_corrected(b[0], b[1], shift, corr) for b in boots])
            # the low end of S: held-out I(X1,X2;Y) (biased low) with the same R, U1, U2
            low_value = crossfit[0] / LN2 - value[:3].sum()
            low_reps = np.array([cf / LN2 - r[:3].sum() for cf, r in zip(crossfit[1:], reps, strict=True)])
            low = (float(low_value), low_reps)
        elif corr == "bootstrap":
            value, reps = base - shift, plug_b - shift
        elif corr == "permutation":
            value, reps = base - null_mean, plug_b - null_mean
        else:
            value, reps = base, plug_b
        atoms: dict[str, AtomEstimate] = {}
        for i, k in enumerate(ATOMS):
            if n_boot >= 2:
                sd = float(reps[:, i].std(ddof=1))
                lo, hi = value[i] - z * sd, value[i] + z * sd
                if k == "S" and low is not None:
                    lo = min(value[i], low[0]) - z * max(sd, float(low[1].std(ddof=1)))
                one_sided = lo <= 0.0
                if one_sided:  # [0, upper], never of zero width
                    q = float(np.quantile(plug_b[:, i], 0.5 + ci_level / 2.0))
                    lo, hi = 0.0, max(hi, q, 1.0 / n)
            else:
                sd, lo, hi, one_sided = np.nan, np.nan, np.nan, False
            atoms[k] = AtomEstimate(
                value=float(value[i]), plugin=float(base[i]), null_mean=float(null_mean[i]),
                null_q95=float(null_q95[i]), ci=(float(lo), float(hi)), stderr=sd,
                one_sided=bool(one_sided),
            )
        extra: dict[str, Any] = {"solver_status": plugin.status, "solver_gap_bits": plugin.gap}
        if low is not None:
            extra["S_crossfit"] = low[0]
        out[corr] = PIDEstimate(
            atoms=atoms, plugin=plugin, n=n, shape=tuple(int(s) for s in counts.shape),  # type: ignore[arg-type]
            measure=pid.name, n_boot=n_boot, n_perm=n_perm, ci_level=float(ci_level), seed=seed,
            seconds=time.perf_counter() - start, correction=corr, extra=extra,
        )
    return out


def _entropy_corrected(c: np.ndarray, plug: np.ndarray, shift: np.ndarray, corr: str) -> np.ndarray:
    """R, U1, U2 shifted by their bootstrap bias; S from a corrected I(X1, X2; Y) (bits)."""
    out = plug - shift
    if corr == "empirical_bayes":
        h_cond = fent.conditional_empirical_bayes(c.reshape(-1, c.shape[2]))[0]
        i12 = fent.grassberger(c.sum((0, 1))) - h_cond
    else:
        h = fent.ESTIMATORS[corr]
        i12 = h(c.sum((0, 1))) + h(c.sum(2)) - h(c)
    out[3] = i12 / LN2 - out[:3].sum()
    return out


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2.0))


__all__ = [
    "CORRECTIONS",
    "DEFAULT_CORRECTION",
    "AtomEstimate",
    "PIDEstimate",
    "check_unit",
    "compare_corrections",
    "count_table",
    "estimate_pid",
]

