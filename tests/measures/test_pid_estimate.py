"""Sample-based PID: null level, bias correction, bootstrap intervals, discretisation, M >= 3."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.measures.pid import discretize, discretize_target, estimate_pid
from infofusion.measures.pid.multi import multi_pid


def test_independent_data_corrected_intervals_contain_zero():
    # 30 x 30 x 2 cells, every true atom is 0; the plug-in synergy is large
    rng = np.random.default_rng(0)
    n = 1000
    x1, x2, y = rng.integers(0, 30, n), rng.integers(0, 30, n), rng.integers(0, 2, n)
    est = estimate_pid(x1, x2, y, n_boot=30, n_perm=30, seed=1)
    assert est.atoms["S"].plugin > 0.3  # the bias the correction is for
    assert est.atoms["S"].null_mean > 0.3
    for name, a in est.atoms.items():
        assert a.ci[0] <= 0.0 <= a.ci[1], (name, a)
        assert abs(a.value) < 0.1
        assert a.null_q95 >= a.null_mean


def test_signal_survives_correction():
    rng = np.random.default_rng(1)
    n = 2000
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    # noisy clusters: each source has 4 levels, 2 of which encode its bit
    x1 = 2 * a + rng.integers(0, 2, n)
    x2 = 2 * b + rng.integers(0, 2, n)
    est = estimate_pid(x1, x2, a ^ b, n_boot=20, n_perm=20)
    assert est.dominant() == "S"
    assert est.atoms["S"].value == pytest.approx(1.0, abs=0.05)
    assert est.atoms["S"].ci[0] > est.atoms["S"].null_q95


def test_estimate_without_resampling():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 3, 300)
    est = estimate_pid(x, x, x, n_boot=0, n_perm=0)
    assert est.atoms["R"].value == pytest.approx(np.log2(3), abs=0.05)


def test_discretize_records_choices():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-3, 0.1, (50, 2)), rng.normal(3, 0.1, (50, 2))])
    d = discretize(x, k=2, seed=3, fit_index=np.arange(0, 100, 2))
    assert d.k == 2 and d.method == "kmeans" and d.seed == 3 and d.fit_rows == 50
    assert sorted(d.sizes) == [50, 50]
    assert len(set(d.labels[:50])) == 1 and d.labels[0] != d.labels[-1]
    rec = d.record()
    assert "labels" not in rec and rec["representation"] == "features"


def test_discretize_sequences_and_discrete_values():
    x = np.zeros((6, 4, 2))
    x[3:, :2] = 5.0
    d = discretize(x, k=2, lengths=np.array([4, 4, 4, 2, 2, 2]))
    assert len(set(d.labels[:3])) == 1 and d.labels[0] != d.labels[5]
    v = discretize(np.array([0, 2, 2, 5]), k=10)
    assert v.method == "distinct" and v.k == 3


def test_discretize_model_representation():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = y[:, None] + 0.1 * rng.standard_normal((200, 3))
    d = discretize(x, k=2, representation="model", y=y)
    assert (d.labels == d.labels[0]).mean() < 1
    agree = max((d.labels == y).mean(), (d.labels != y).mean())
    assert agree > 0.95


def test_discretize_target_bins():
    codes, info = discretize_target(np.linspace(0, 1, 100).astype(np.float32), bins=4)
    assert info["target"] == "quantile_bins" and np.bincount(codes).tolist() == [25, 25, 25, 25]


def test_multi_pid_xor3_and_redundancy():
    rng = np.random.default_rng(0)
    n = 4000
    a, b, c = (rng.integers(0, 2, n) for _ in range(3))
    syn = multi_pid([a, b, c], a ^ b ^ c)
    assert syn["total"] == pytest.approx(1.0, abs=0.01)
    assert syn["o_information"] < -1.9
    for name in syn["names"]:
        assert syn["unique"][name] < 0.01
        assert syn["vs_rest"][name]["S"] > 0.98
    red = multi_pid({"p": a, "q": a, "r": a}, a)
    assert red["o_information"] > 1.9
    assert red["co_information"] == pytest.approx(1.0, abs=0.01)
    assert all(v["R"] == pytest.approx(1.0, abs=0.01) for v in red["vs_rest"].values())


def test_multi_pid_two_sources_co_information_is_r_minus_s():
    rng = np.random.default_rng(1)
    x1, x2 = rng.integers(0, 3, 3000), rng.integers(0, 3, 3000)
    y = (x1 + (x2 > 1)) % 3
    out = multi_pid([x1, x2], y)
    v = out["vs_rest"]["m1"]
    assert out["co_information"] == pytest.approx(v["R"] - v["S"], abs=1e-6)


def _noisy_parity(n, rng, flip=0.1):
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    x1 = 2 * rng.integers(0, 15, n) + a
    x2 = 2 * rng.integers(0, 15, n) + b
    return x1, x2, (a ^ b) ^ (rng.random(n) < flip)


def test_noisy_parity_correction_does_not_over_subtract():
    """30 x 30 x 2 cells, N = 1000, true S = 1 - h(0.1) = 0.531 bits. The permutation null
    subtracts ~0.57 bits (corrected S ~0.25); the default correction lands near the truth and
    its interval covers it."""
    truth = 1 - (-(0.1 * np.log2(0.1) + 0.9 * np.log2(0.9)))
    x1, x2, y = _noisy_parity(1000, np.random.default_rng(3))
    from infofusion.measures.pid.estimate import compare_corrections

    ests = compare_corrections(x1, x2, y, corrections=("empirical_bayes", "permutation"), n_boot=20, n_perm=10, seed=2)
    s = ests["empirical_bayes"].atoms["S"]
    assert abs(s.value - truth) < 0.15
    assert s.ci[0] <= truth <= s.ci[1]
    assert s.plugin - truth > 0.2  # the bias being corrected
    assert ests["permutation"].atoms["S"].value < truth - 0.2  # the old correction over-subtracts


def test_boundary_intervals_are_one_sided_and_never_zero_width():
    # noisy copy: X1 == X2, so U1 = U2 = S = 0 exactly in every resample
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    x = 2 * rng.integers(0, 5, 500) + (y ^ (rng.random(500) < 0.1))
    est = estimate_pid(x, x, y, n_boot=10, n_perm=0)
    for k in ("U1", "U2", "S"):
        a = est.atoms[k]
        assert a.one_sided and a.ci[0] == 0.0 and a.ci[1] > 0.0
    r = est.atoms["R"]
    assert not r.one_sided and r.ci[0] < r.value < r.ci[1]


def test_no_resamples_means_no_interval():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, 200)
    est = estimate_pid(x, x, x, n_boot=0, n_perm=0)
    assert all(np.isnan(a.ci[0]) and np.isnan(a.stderr) for a in est.atoms.values())


def test_units_and_corrections_are_recorded():
    rng = np.random.default_rng(2)
    x1, x2, y = _noisy_parity(400, rng)
    est = estimate_pid(x1, x2, y, n_boot=4, n_perm=0, correction="bootstrap")
    assert est.correction == "bootstrap" and est.unit == "bits"
    nats = est.in_unit("nats")
    assert nats.atoms["S"].ci[1] == pytest.approx(est.atoms["S"].ci[1] * np.log(2))
    assert nats.in_unit("bits").atoms["R"].value == pytest.approx(est.atoms["R"].value)


@pytest.mark.parametrize(
    "kwargs,err,match",
    [
        ({"n_boot": -1}, "config", "n_boot"),
        ({"n_perm": 1.5}, "config", "n_perm"),
        ({"ci_level": 1.0}, "config", "ci_level"),
        ({"correction": "magic"}, "config", "correction"),
        ({"correction": "permutation", "n_perm": 0}, "config", "n_perm"),
        ({"measure": "nosuch"}, "config", "nosuch"),
    ],
)
def test_estimate_options_are_validated(kwargs, err, match):
    from infofusion.errors import ConfigError

    x = np.arange(20) % 2
    with pytest.raises(ConfigError, match=match):
        estimate_pid(x, x, x, **kwargs)


@pytest.mark.parametrize(
    "labels,match",
    [
        ((np.zeros(5), np.zeros(4), np.zeros(5)), "lengths 5, 4, 5"),
        ((np.zeros(1), np.zeros(1), np.zeros(1)), "at least 2 samples"),
        ((np.array([0.0, np.nan]), np.zeros(2), np.zeros(2)), "x1: labels contain NaN"),
        ((np.zeros((4, 2)), np.zeros(4), np.zeros(4)), r"x1: expected one label per sample"),
    ],
)
def test_estimate_labels_are_validated(labels, match):
    from infofusion.errors import EstimationError

    with pytest.raises(EstimationError, match=match):
        estimate_pid(*labels, n_boot=0, n_perm=0)


def test_entropy_estimators_known_values():
    from infofusion.functional import entropy as fent

    c = np.array([10, 10, 10, 10])
    assert fent.plugin(c) == pytest.approx(np.log(4))
    assert fent.miller_madow(c) == pytest.approx(np.log(4) + 3 / 80)
    # jackknife of a uniform table by hand: N H - (N - 1) H_{-i}, all H_{-i} equal
    h_minus = np.log(39) - (3 * 10 * np.log(10) + 9 * np.log(9)) / 39
    assert fent.jackknife(c) == pytest.approx(40 * np.log(4) - 39 * h_minus)
    # empirical Bayes: deterministic cells -> small alpha -> conditional entropy near 0
    det = np.array([[3, 0], [0, 2], [1, 0], [0, 4]] * 25)
    h, alpha = fent.conditional_empirical_bayes(det)
    assert h < 0.05 and alpha < 0.1
    coin = np.random.default_rng(0).integers(0, 3, size=(200, 2))  # y independent of x
    h, alpha = fent.conditional_empirical_bayes(coin)
    assert h == pytest.approx(np.log(2), abs=0.05) and alpha > 10
