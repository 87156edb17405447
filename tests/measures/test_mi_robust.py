"""No silent failure: every estimator gives a finite, meaningful value or a typed error saying why.

Each test pins one case an independent check found returning NaN, 0 or a wrong-looking number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from infofusion.errors import ConfigError, EstimationError
from infofusion.measures.mi import estimate_mi
from infofusion.measures.mi.neural import EstimationWarning

from .mi_truth import paired_gaussian


# ------------------------------------------------------------------ gaussian
def test_constant_column_is_dropped_not_biased():
    # the constant column used to give -0.0025 +- 2e-18 nats (CI excluding the true 0)
    x, y, _ = paired_gaussian(2000, 2, 0.6, seed=1)
    with_const = np.hstack([x, np.full((2000, 1), 7.0)])
    a = estimate_mi(with_const, y, estimator="gaussian")
    b = estimate_mi(x, y, estimator="gaussian")
    assert a.value == pytest.approx(b.value, abs=1e-12)
    assert a.extra["constant_columns"] == {"x": [2]}
    only_const = estimate_mi(np.full(2000, 7.0), y, estimator="gaussian")
    assert only_const.value == 0.0 and only_const.ci == (0.0, 0.0)


def test_gaussian_refuses_more_columns_than_samples():
    # 50 x 50 dimensions from 20 samples used to give NaN
    rng = np.random.default_rng(0)
    with pytest.raises(EstimationError, match=r"at least D \+ 2 = 102 samples.*got 20"):
        estimate_mi(
            rng.standard_normal((20, 50)), rng.standard_normal((20, 50)), estimator="gaussian"
        )


def test_gaussian_singular_covariance_is_an_error_unless_regularised():
    x, y, _ = paired_gaussian(1000, 2, 0.5, seed=2)
    dup = np.hstack([x, x[:, :1] * 2.0 + 1.0])  # a column that is a linear function of another
    with pytest.raises(EstimationError, match="covariance of x .* singular"):
        estimate_mi(dup, y, estimator="gaussian")
    with pytest.raises(EstimationError, match=r"covariance of \(x, y\) .* singular"):
        estimate_mi(x, x, estimator="gaussian")  # one side determines the other: infinite MI
    # an explicit ridge regularises; the redundant column then adds nothing
    reg = estimate_mi(dup, y, estimator="gaussian", ridge=1e-6).value
    assert reg == pytest.approx(estimate_mi(x, y, estimator="gaussian").value, abs=5e-3)


# ------------------------------------------------------------------ scale
@pytest.mark.parametrize("estimator", ["gaussian", "gcmi", "ksg", "mixed", "cs_qmi"])
@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_extreme_magnitudes_give_the_same_estimate(estimator, scale):
    # values near 1e300 used to make ksg and gaussian return about 0
    x, y, _ = paired_gaussian(500, 2, 0.7, seed=3)
    if estimator == "mixed":
        x = (x[:, :1] > 0).astype(int)
    ref = estimate_mi(x, y, estimator=estimator).value
    got = estimate_mi(x if estimator == "mixed" else x * scale, y * scale, estimator=estimator)
    assert ref > 0.01
    assert got.value == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_ksg_without_standardising_refuses_overflowing_differences():
    x, y, _ = paired_gaussian(200, 1, 0.5)
    big = x / np.abs(x).max() * 1.5e308  # finite values whose differences are not
    with pytest.raises(EstimationError, match="overflow"):
        estimate_mi(big, y, estimator="ksg", standardize=False)


# ------------------------------------------------------------------ ksg
def test_ksg_needs_2k_plus_2_samples():
    # k = n - 1 used to give 0 +- 0 whatever the data
    x, y, _ = paired_gaussian(20, 1, 0.9)
    with pytest.raises(EstimationError, match=r"2k \+ 2 = 40 samples, got 20"):
        estimate_mi(x, y, estimator="ksg", k=19)
    assert np.isfinite(estimate_mi(x, y, estimator="ksg", k=9).value)


def test_ksg_ties_without_jitter_are_named():
    x = np.repeat(np.arange(10.0), 20)
    with pytest.raises(EstimationError, match="ties"):
        estimate_mi(x, x, estimator="ksg", jitter=0.0)
    assert np.isfinite(estimate_mi(x, x, estimator="ksg").value)  # jitter breaks ties


# ------------------------------------------------------------------ mixed (Ross) with ties
def test_mixed_handles_ties_on_the_continuous_side():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 3, 3000)
    c = labels + rng.standard_normal(3000)
    exact = estimate_mi(c, labels, estimator="mixed").value
    rounded = estimate_mi(np.round(c, 1), labels, estimator="mixed")  # used to be NaN
    assert np.isfinite(rounded.value) and rounded.value == pytest.approx(exact, abs=0.05)
    # a "continuous" side that only repeats the class: the estimate is the plug-in entropy
    tied = estimate_mi(labels.astype(float), labels, estimator="mixed", discrete="y").value
    plug = estimate_mi(labels, labels, estimator="plugin", miller_madow=False).value
    assert tied == pytest.approx(plug, abs=0.01)


# ------------------------------------------------------------------ auto
def test_auto_leaves_out_failed_components_and_says_so():
    x, y, _ = paired_gaussian(600, 2, 0.6, seed=5)
    dup = np.hstack([x, x[:, :1]])  # the Gaussian-copula component cannot run on it
    est = estimate_mi(dup, y, neural=False)
    assert np.isfinite(est.value)
    assert "gcmi" in est.extra["failed"] and "singular" in est.extra["failed"]["gcmi"]
    assert "gcmi" not in est.extra["components"] and est.extra["chosen"] in ("ksg", "radial")


def test_auto_fails_only_when_every_component_fails():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((21, 15)), rng.standard_normal((21, 15))
    with pytest.raises(EstimationError, match="every component of 'auto' failed.*gcmi.*ksg"):
        estimate_mi(x, y, neural=False, k=10)


# ------------------------------------------------------------------ neural bounds
def test_infonce_on_few_independent_samples_is_not_far_below_zero():
    # n = 30 independent samples used to give -5.5 nats
    rng = np.random.default_rng(0)
    for seed in range(2):
        x, y = rng.standard_normal((30, 2)), rng.standard_normal((30, 2))
        est = estimate_mi(x, y, estimator="infonce", seed=seed, max_steps=200, eval_every=25)
        assert est.value == 0.0 and est.extra["trivial_critic"]


def _cauchy_2x2(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cov = np.array([[1, 0, 0.5, 0], [0, 1, 0, 0.5], [0.5, 0, 1, 0], [0, 0.5, 0, 1]])
    z = rng.standard_normal((n, 4)) @ np.linalg.cholesky(cov).T
    t = z / np.sqrt(rng.chisquare(1, (n, 1)))  # multivariate Student-t with 1 dof
    return t[:, :2], t[:, 2:]


def test_heavy_tails_below_zero_are_flagged_and_copula_fixes_them():
    x, y = _cauchy_2x2(600, seed=5)
    with pytest.warns(EstimationWarning, match="below the valid range"):
        raw = estimate_mi(x, y, estimator="infonce", copula=False, seed=5, max_steps=300)
    assert raw.value < 0 and raw.extra["below_valid_range"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", EstimationWarning)
        ranked = estimate_mi(x, y, estimator="infonce", seed=5, max_steps=300)  # copula default
    assert ranked.value > 0.1 and "below_valid_range" not in ranked.extra


# ------------------------------------------------------------------ API
def test_unit_keyword():
    x, y, _ = paired_gaussian(500, 1, 0.8)
    nats = estimate_mi(x, y, estimator="gaussian")
    bits = estimate_mi(x, y, estimator="gaussian", unit="bits")
    assert bits.unit == "bits" and bits.value == pytest.approx(nats.value / np.log(2))
    with pytest.raises(ConfigError, match="'unit'.*'nats' or 'bits'"):
        estimate_mi(x, y, estimator="gaussian", unit="hartleys")
    with pytest.raises(ConfigError, match="distance units"):
        estimate_mi(x, y, estimator="wdm", unit="bits")


def test_ragged_list_to_the_api_is_a_typed_error():
    with pytest.raises(EstimationError, match="x is not a rectangular array"):
        estimate_mi([[0.1, 0.2], [0.3]], [1.0, 2.0])
