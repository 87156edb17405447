"""Synergy indicator: share of samples only the fused model gets right."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.errors import ConfigError, EstimationError
from infofusion.evaluation.synergy import synergy_indicator


def test_counts_samples_only_fused_gets_right():
    y = np.array([0, 1, 1, 0, 1])
    fused = np.array([0, 1, 1, 1, 1])  # right on 0, 1, 2, 4
    uni = {"a": np.array([0, 0, 0, 0, 0]), "b": np.array([1, 0, 1, 1, 0])}
    out = synergy_indicator(y, fused, uni, reference="separate")
    # sample 1 and 4: fused right, both unimodal wrong; sample 0: a right; sample 2: b right
    assert out["synergy"] == pytest.approx(2 / 5)
    assert out["n_synergy"] == 2 and out["reference"] == "separate"
    assert out["fused_accuracy"] == pytest.approx(4 / 5)
    assert out["unimodal_accuracy"] == {"a": pytest.approx(2 / 5), "b": pytest.approx(1 / 5)}


def test_logits_and_branch_reference():
    y = np.array([0, 1])
    fused = np.array([[2.0, 0.0], [0.0, 3.0]])
    uni = {"a": np.array([[0.0, 1.0], [1.0, 0.0]])}
    out = synergy_indicator(y, fused, uni, reference="branches")
    assert out["synergy"] == 1.0 and out["reference"] == "branches"


def test_ensemble_of_own_branches_has_zero_synergy():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    a, b = rng.random((500, 2)), rng.random((500, 2))
    # averaging two binary voters: if both are wrong, the average is wrong too
    out = synergy_indicator(y, a + b, {"a": a, "b": b}, reference="branches")
    assert out["synergy"] == 0.0


def test_regression_tolerance():
    y = np.array([0.0, 1.0, 2.0])
    out = synergy_indicator(y, np.array([0.1, 1.5, 2.0]), {"a": np.array([1.0, 1.0, 0.0])}, "separate", tolerance=0.2)
    assert out["synergy"] == pytest.approx(2 / 3)


def test_errors():
    with pytest.raises(ConfigError):
        synergy_indicator([0], [0], {"a": [0]}, reference="own")
    with pytest.raises(ConfigError):
        synergy_indicator([0], [0], {}, reference="separate")
    with pytest.raises(EstimationError):
        synergy_indicator([0, 1], [0], {"a": [0, 1]}, reference="separate")
