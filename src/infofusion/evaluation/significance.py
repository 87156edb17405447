"""Is method A better than method B on one dataset? Paired differences over seeds.

A bench seed fixes the split, the shuffling and the initialisation of every method alike, so
the scores of two methods under the same seed are paired: ``d_i = a_i - b_i``. The mean
difference gets a confidence interval from the t distribution,

.. math::

    \\bar d \\pm t_{1-\\alpha/2,\\, n-1}\\, s_d / \\sqrt{n},

(``scipy.stats.ttest_rel`` gives the same p-value). With fewer than 3 paired seeds the interval
is too wide to mean much (at n = 2, t = 12.7) and the result says so; with one seed there is no
interval at all. ``prob_improvement`` is P(A > B) over all seed pairs (ties count 1/2), the
statistic rliable reports beside intervals (Agarwal et al., 2021).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infofusion.errors import ConfigError

#: Below this many paired seeds the report adds a note that the interval says little.
MIN_SEEDS = 3


@dataclass(frozen=True)
class PairedDifference:
    """Mean paired difference A - B over seeds with its t interval.

    Attributes:
        diff: mean of ``a_i - b_i`` (NaN without pairs).
        ci: (low, high) at ``level`` (NaN when n < 2).
        n: number of paired seeds.
        p_value: two-sided p-value of the paired t test (NaN when n < 2 or all d_i equal).
        level: confidence level.
        prob_better: P(A > B) over all seed pairs (ties 1/2).
        verdict: ``"better"`` / ``"worse"`` (the interval excludes 0, oriented by
            ``higher_is_better``), ``"no difference shown"`` or ``"too few seeds"``.
        note: why the verdict is weak, or ``""``.
    """

    diff: float
    ci: tuple[float, float]
    n: int
    p_value: float
    level: float
    prob_better: float
    verdict: str
    note: str


def prob_improvement(a: Sequence[float], b: Sequence[float]) -> float:
    """P(A > B) = mean over all pairs (i, j) of 1(a_i > b_j) + 1/2 1(a_i = b_j)."""
    if not a or not b:
        return float("nan")
    wins = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    return wins / (len(a) * len(b))


def paired_difference(
    a: Mapping[int, float],
    b: Mapping[int, float],
    level: float = 0.95,
    higher_is_better: bool = True,
) -> PairedDifference:
    """Paired difference of two methods' scores on the seeds both have.

    Args:
        a, b: seed -> score of method A and method B (non-finite scores are dropped).
        level: confidence level of the interval, in (0, 1).
        higher_is_better: orientation of the verdict.

    Returns:
        :class:`PairedDifference`.

    Raises:
        ConfigError: ``level`` outside (0, 1).
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1), got {level!r}")
    seeds = sorted(s for s in set(a) & set(b) if math.isfinite(a[s]) and math.isfinite(b[s]))
    d = [a[s] - b[s] for s in seeds]
    n = len(d)
    pb = prob_improvement([a[s] for s in seeds], [b[s] for s in seeds])
    if not higher_is_better:
        pb = 1.0 - pb if math.isfinite(pb) else pb
    nan = float("nan")
    if n == 0:
        return PairedDifference(nan, (nan, nan), 0, nan, level, pb, "too few seeds", "no seed in common")
    mean = sum(d) / n
    if n < 2:
        return PairedDifference(mean, (nan, nan), n, nan, level, pb, "too few seeds",
                                "one seed: no interval; run more seeds")
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    half = t * sd / math.sqrt(n)
    ci = (mean - half, mean + half)
    if sd == 0:
        p = 0.0 if mean != 0 else 1.0
    else:
        p = float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1))
    if ci[0] > 0 or ci[1] < 0:
        up = ci[0] > 0
        verdict = "better" if up == higher_is_better else "worse"
    else:
        verdict = "no difference shown"
    note = ""
    if n < MIN_SEEDS:
        note = f"only {n} paired seeds (t = {t:.1f}): the interval says little; run >= {MIN_SEEDS} seeds"
        if verdict == "no difference shown":
            verdict = "too few seeds"
    return PairedDifference(mean, ci, n, p, level, pb, verdict, note)
