"""BTW's weight math (``functional/btw.py``) against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infofusion.errors import ConfigError
from infofusion.functional.btw import (
    btw_update,
    categorical_kl,
    gaussian_kl,
    next_smoothing,
    normalize_mi,
    normalize_scores,
    renormalize,
    smooth,
)


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


def test_categorical_kl_hand_values():
    # KL((.5, .5) || (.9, .1)) = .5 ln(.5/.9) + .5 ln(.5/.1)
    p, q = _t([[0.5, 0.5], [1.0, 0.0], [0.2, 0.8]]), _t([[0.9, 0.1], [0.25, 0.75], [0.2, 0.8]])
    kl = categorical_kl(p.log(), q.log())
    expected = [0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1), math.log(4.0), 0.0]
    np.testing.assert_allclose(kl.numpy(), expected, rtol=1e-12, atol=1e-12)
    # a class with p = 0 contributes nothing, even where q = 0 too (no 0 * inf)
    assert math.isfinite(float(categorical_kl(_t([[1.0, 0.0]]).log(), _t([[0.5, 0.0]]).log())[0]))


def test_categorical_kl_matches_scipy_entropy():
    from scipy.stats import entropy

    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(5), size=20), rng.dirichlet(np.ones(5), size=20)
    ours = categorical_kl(_t(p).log(), _t(q).log()).numpy()
    np.testing.assert_allclose(ours, [entropy(a, b) for a, b in zip(p, q, strict=True)], rtol=1e-10)


def test_gaussian_kl_hand_values():
    # reference constants: sigma_p = 0.1, sigma_q = 1, means 1 and 0: ln 10 + (0.01 + 1) / 2 - 1/2
    kl = gaussian_kl(_t([1.0]), _t([0.0]), 0.1, 1.0)
    assert float(kl[0]) == pytest.approx(math.log(10.0) + 1.01 / 2 - 0.5, rel=1e-12)
    # equal variances: (mu_p - mu_q)^2 / (2 sigma^2); equal distributions: 0
    kl = gaussian_kl(_t([3.0, 2.0]), _t([1.0, 2.0]), 2.0, 2.0)
    np.testing.assert_allclose(kl.numpy(), [4.0 / 8.0, 0.0], atol=1e-12)


def test_gaussian_kl_matches_torch_distributions():
    from torch.distributions import Normal, kl_divergence

    mp, mq = _t([0.3, -1.0, 2.0]), _t([0.0, 0.5, 2.5])
    ours = gaussian_kl(mp, mq, 0.4, 1.3)
    ref = kl_divergence(Normal(mp, _t(0.4)), Normal(mq, _t(1.3)))
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-12)
    with pytest.raises(ConfigError, match="positive"):
        gaussian_kl(mp, mq, 0.0, 1.0)


def test_normalize_scores_variants():
    s = _t([[0.2, 1.0], [0.6, 0.6], [1.0, 0.2]])
    np.testing.assert_allclose(normalize_scores(s, "minmax").numpy(), [[0, 1], [0.5, 0.5], [1, 0]], atol=1e-12)
    np.testing.assert_allclose(normalize_scores(s, "sample").numpy(), [[1 / 6, 5 / 6], [0.5, 0.5], [5 / 6, 1 / 6]], atol=1e-12)
    np.testing.assert_allclose(normalize_scores(s, "none").numpy(), s.numpy())
    # a constant column cannot be min-max scaled: it becomes the floor
    np.testing.assert_allclose(normalize_scores(_t([[0.3, 1.0], [0.3, 2.0]]), "minmax").numpy(), [[1e-5, 0], [1e-5, 1]])
    with pytest.raises(ConfigError, match="kl_norm"):
        normalize_scores(s, "zscore")


def test_renormalize_rows_sum_to_m_and_are_scale_free():
    w = _t([[1.0, 3.0, 0.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    r = renormalize(w)
    np.testing.assert_allclose(r.sum(dim=1).numpy(), [3.0, 3.0, 3.0], rtol=1e-12)
    np.testing.assert_allclose(r[1].numpy(), [1.0, 1.0, 1.0])  # uniform stays uniform (all 1)
    np.testing.assert_allclose(r[2].numpy(), [1.0, 1.0, 1.0])  # a zero row becomes uniform
    np.testing.assert_allclose(r[0].numpy(), np.array([0.25, 0.75, 1e-5]) / (1 + 1e-5) * 3, rtol=1e-12)  # floored share
    np.testing.assert_allclose(renormalize(w * 7.0).numpy(), r.numpy(), rtol=1e-12)
    np.testing.assert_allclose(renormalize(w, total=1.0).sum(dim=1).numpy(), [1.0, 1.0, 1.0])


def test_smoothing_schedule():
    assert next_smoothing(0.5, loss=1.0, best=math.inf) == pytest.approx(0.45)  # first: an improvement
    assert next_smoothing(0.45, loss=1.2, best=1.0) == pytest.approx(0.5)  # worse: trust new weights more
    assert next_smoothing(0.5, loss=0.9, best=1.0) == pytest.approx(0.45)
    assert next_smoothing(0.98, loss=2.0, best=1.0) == 1.0 and next_smoothing(0.02, loss=0.5, best=1.0) == 0.0
    np.testing.assert_allclose(smooth(_t([1.0, 1.0]), _t([0.0, 3.0]), 0.25).numpy(), [0.75, 1.5])
    with pytest.raises(ConfigError):
        smooth(_t([1.0]), _t([1.0]), 1.5)


def test_weight_update_worked_example():
    """Three samples, two modalities, worked by hand.

    KL = [[.2, 1], [.6, .6], [1, .2]] -> min-max per modality: [[0, 1], [.5, .5], [1, 0]];
    MI = (.3, .1) -> (.75, .25); product [[0, .25], [.375, .125], [.75, 0]];
    as shares [[0, 1], [.75, .25], [1, 0]], floored at 1e-5, rows to sum 2; smoothed with
    s = .5 against old weights of 1.
    """
    kl, mi, old = _t([[0.2, 1.0], [0.6, 0.6], [1.0, 0.2]]), _t([0.3, 0.1]), torch.ones(3, 2, dtype=torch.float64)
    w, new = btw_update(old, kl, mi, factor=0.5)
    f = 1e-5
    expected_new = [[2 * f / (1 + f), 2 / (1 + f)], [1.5, 0.5], [2 / (1 + f), 2 * f / (1 + f)]]
    np.testing.assert_allclose(new.numpy(), expected_new, rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), 0.5 * np.array(expected_new) + 0.5, rtol=1e-12)
    # the KL-only ablation: MI left out
    _, kl_only = btw_update(old, kl, None, factor=1.0)
    np.testing.assert_allclose(kl_only.numpy(), [[2 * f / (1 + f), 2 / (1 + f)], [1, 1], [2 / (1 + f), 2 * f / (1 + f)]], rtol=1e-12)
    # agreement direction: exp(-KL) instead of KL, so the ordering flips
    _, agree = btw_update(old, kl, None, factor=1.0, direction="agreement")
    assert agree[0, 0] > agree[0, 1] and agree[2, 0] < agree[2, 1]
    np.testing.assert_allclose(normalize_mi(_t([0.3, -0.2])).numpy(), [0.3 / (0.3 + 1e-5), 1e-5 / (0.3 + 1e-5)])
