"""Neural bounds as estimators: held-out evaluation and bound ordering on Gaussians."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.measures.mi import create_estimator, estimate_mi
from infofusion.measures.mi.neural import split_indices

from .mi_truth import paired_gaussian

FAST = {"max_steps": 400, "eval_every": 50, "patience": 3}


@pytest.fixture(scope="module")
def gaussian_data():
    return paired_gaussian(3000, 2, 0.6, seed=0)  # MI = 0.446 nats


def test_split_is_disjoint_and_covers_everything():
    tr, va, te = split_indices(100, 0.5, 0.2, np.random.default_rng(0))
    assert len(te) == 50 and len(va) == 10 and len(tr) == 40
    assert len(set(tr) | set(va) | set(te)) == 100


def test_value_is_reported_on_held_out_samples_only(gaussian_data):
    x, y, _ = gaussian_data
    est = create_estimator("infonce", **FAST, test_fraction=0.4)
    result = est.estimate(x, y)
    assert result.n == 1200  # the held-out part, not the 3000 samples
    assert result.extra["n_train"] == 1440
    assert result.extra["kind"] == "lower_bound"
    # a critic memorising its training pairs would score higher there than on held-out pairs
    assert est.module is not None


@pytest.mark.parametrize("bound", ["infonce", "nwj", "dv", "mine", "smile"])
def test_lower_bounds_on_a_gaussian(gaussian_data, bound):
    x, y, truth = gaussian_data
    est = estimate_mi(x, y, estimator=bound, **FAST)
    assert est.value <= truth + 3 * est.stderr + 0.03
    assert est.value >= 0.6 * truth


def test_invertible_input_maps_keep_the_bound(gaussian_data):
    x, y, truth = gaussian_data
    est = estimate_mi(x, y, estimator="infonce", copula=True, radial=True, **FAST)
    assert 0.6 * truth < est.value < truth + 3 * est.stderr + 0.03


def test_joint_critic_runs(gaussian_data):
    x, y, truth = gaussian_data
    est = estimate_mi(
        x[:1000],
        y[:1000],
        estimator="infonce",
        critic="joint",
        hidden=[16, 8],
        max_steps=150,
        eval_every=50,
    )
    assert 0.2 * truth < est.value < truth + 0.1


@pytest.mark.parametrize("name", ["club", "vclub"])
def test_club_is_above_the_truth(gaussian_data, name):
    x, y, truth = gaussian_data
    est = estimate_mi(x, y, estimator=name, max_steps=600, eval_every=50)
    assert est.extra["kind"] == "upper_bound"
    assert est.value >= truth - 3 * est.stderr


def test_bound_ordering(gaussian_data):
    """lower bounds <= truth <= CLUB, within noise."""
    x, y, truth = gaussian_data
    lower = max(estimate_mi(x, y, estimator=b, **FAST).value for b in ("infonce", "smile"))
    upper = estimate_mi(x, y, estimator="club", max_steps=600, eval_every=50).value
    assert lower <= truth + 0.05
    assert upper >= truth - 0.05
    assert lower < upper


def test_independent_data_give_about_zero():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3))
    assert abs(estimate_mi(x, y, estimator="infonce", **FAST).value) < 0.05


def test_progress_is_reported(gaussian_data):
    x, y, _ = gaussian_data
    calls = []
    estimate_mi(
        x[:600],
        y[:600],
        estimator="smile",
        max_steps=100,
        eval_every=50,
        progress=lambda d, t, m: calls.append((d, t)),
    )
    assert calls and calls[0] == (50, 100)


def test_auto_reports_its_components(gaussian_data):
    x, y, truth = gaussian_data
    est = estimate_mi(x, y, neural_steps=200)
    assert set(est.extra["components"]) == {"gcmi", "ksg", "radial", "infonce"}
    assert est.value == max(c["value"] for c in est.extra["components"].values())
    assert est.value == pytest.approx(truth, abs=0.06)


def test_seeded_estimates_repeat_and_leave_the_global_rng_alone(gaussian_data):
    import torch

    x, y, _ = gaussian_data
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = estimate_mi(x[:800], y[:800], estimator="nwj", seed=3, max_steps=60, eval_every=20).value
    assert torch.equal(torch.rand(1), expected)
    b = estimate_mi(x[:800], y[:800], estimator="nwj", seed=3, max_steps=60, eval_every=20).value
    assert a == b
