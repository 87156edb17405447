"""Paired significance, MultiBench robustness summaries, robustness curves and cost figures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
from infofusion.evaluation.complexity import count_parameters
from infofusion.evaluation.robustness import (
    effective_robustness,
    relative_robustness,
    robustness_curves,
)
from infofusion.evaluation.significance import paired_difference, prob_improvement


def test_paired_difference_matches_hand_computation_and_scipy():
    from scipy import stats

    a = {0: 0.80, 1: 0.83, 2: 0.83}
    b = {0: 0.90, 1: 0.92, 2: 0.94}
    d = paired_difference(a, b)
    # d = [-0.10, -0.09, -0.11]: mean -0.1, s_d = 0.01, t(0.975, 2) = 4.302653
    half = 4.302652729911275 * 0.01 / math.sqrt(3)
    assert d.diff == pytest.approx(-0.1)
    assert d.ci == pytest.approx((-0.1 - half, -0.1 + half))
    assert d.p_value == pytest.approx(stats.ttest_rel([0.8, 0.83, 0.83], [0.9, 0.92, 0.94]).pvalue)
    assert d.verdict == "worse" and d.note == "" and d.n == 3
    assert d.prob_better == 0.0
    # lower is better flips the verdict
    assert paired_difference(a, b, higher_is_better=False).verdict == "better"


def test_paired_difference_says_when_seeds_are_too_few():
    one = paired_difference({0: 0.9}, {0: 0.8})
    assert one.verdict == "too few seeds" and math.isnan(one.ci[0]) and "one seed" in one.note
    two = paired_difference({0: 0.9, 1: 0.7}, {0: 0.8, 1: 0.8})
    assert two.verdict == "too few seeds" and "only 2 paired seeds" in two.note
    # only seeds both methods have are paired
    assert paired_difference({0: 0.9, 5: 0.1}, {0: 0.8, 1: 0.8}).n == 1
    with pytest.raises(ConfigError, match="level"):
        paired_difference({0: 1.0}, {0: 1.0}, level=1.5)


def test_prob_improvement_counts_ties_as_half():
    assert prob_improvement([1, 2], [1, 0]) == pytest.approx((0.5 + 1 + 1 + 1) / 4)


def test_relative_and_effective_robustness_closed_forms():
    levels = np.linspace(0, 1, 11)
    assert relative_robustness(levels, 1 - levels) == pytest.approx(0.5)  # area of a triangle + 0
    assert relative_robustness(levels, np.full(11, 0.7)) == pytest.approx(0.7)
    # uneven spacing uses the real widths: scores 1 on [0, 0.1], then 0 up to 1
    assert relative_robustness([0, 0.1, 1.0], [1.0, 1.0, 0.0]) == pytest.approx((0.1 + 0.45) / 1.0)
    # lower-is-better: negated
    assert relative_robustness([0, 1], [0.2, 0.4], higher_is_better=False) == pytest.approx(-0.3)
    method = [0.9, 0.85, 0.8]
    base = [0.8, 0.7, 0.6]
    # ((0 - 0) + (-0.05 + 0.1) + (-0.1 + 0.2)) / 3 = 0.05
    assert effective_robustness(method, base) == pytest.approx(0.05)
    assert effective_robustness(base, base) == 0.0
    with pytest.raises(ConfigError):
        effective_robustness([1, 2], [1])
    with pytest.raises(ConfigError, match="increase"):
        relative_robustness([0, 0.5, 0.2], [1, 1, 1])


def _one_modality_data(n: int = 400, seed: int = 0) -> MultimodalDataset:
    """Label = the bit of modality a; modality b is pure noise."""
    rng = np.random.default_rng(seed)
    bit = rng.integers(0, 2, n)
    a = (2 * bit[:, None] - 1) + 0.3 * rng.standard_normal((n, 1))
    b = rng.standard_normal((n, 3))
    idx = rng.permutation(n)
    splits = {"train": idx[:240], "valid": idx[240:320], "test": idx[320:]}
    return MultimodalDataset({"a": a, "b": b}, bit.astype(np.int64), splits=splits, name="onlya")


@pytest.mark.parametrize("method, options", [("unimodal", {"modality": "a"}), ("joint", {"modalities": ["a"]})])
def test_robustness_of_a_method_that_ignores_a_modality_is_flat_for_it(method, options):
    from infofusion.training import TrainConfig, fit

    torch.set_num_threads(1)
    data = _one_modality_data()
    res = fit(method, data, TrainConfig(epochs=15, lr=1e-2, progress=False, patience=0), hidden=16, embed_dim=8, **options)

    def acc(y, pred):
        return float((pred.argmax(1) == y).mean())

    curves = robustness_curves(res.method, res.data, acc, draws=2, seed=1)
    clean = curves["clean"]
    assert clean > 0.9  # it learned modality a
    assert curves["noise"]["b"] == [clean] * len(curves["levels"])  # b is never read: flat
    assert curves["missing"]["b"] == {"zero": clean, "mean": clean}
    assert curves["noise"]["a"][0] == clean and curves["noise"]["a"][-1] < clean - 0.05  # a is
    assert curves["noise"]["all"][-1] < clean - 0.05
    assert curves["missing"]["a"]["zero"] < 0.75


def test_cost_figures_of_a_module():
    net = torch.nn.Linear(3, 2)
    assert count_parameters(net) == (8, 8)
    net.bias.requires_grad_(False)
    assert count_parameters(net) == (8, 6)


def test_memory_window_sees_a_run_allocation():
    from infofusion.evaluation.complexity import peak_rss_mib, start_memory_window

    before, reset = start_memory_window()
    if not reset:
        pytest.skip("the peak-RSS mark cannot be reset on this system")
    block = np.ones(100 * 2**20 // 8)  # 100 MiB, touched
    grown = peak_rss_mib() - before
    del block
    assert grown >= 95
    before, _ = start_memory_window()  # a new window no longer holds the freed block's peak
    assert peak_rss_mib() - before < 50
