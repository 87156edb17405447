"""Per-sample composition: identities, agreement with ground-truth types, dataset consistency."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.data.dataset import MultimodalDataset
from infofusion.measures.pointwise import agreement_rate, pointwise_atoms, pointwise_composition


def test_pointwise_identities_and_types():
    prior = np.array([0.5, 0.5])
    y = np.array([0, 1, 0, 1])
    sure = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    chance = np.full((4, 2), 0.5)
    # sample 0: both sure (redundancy); 1: only x1 (U1); 2: only x2 (U2); 3: only joint (S)
    p1 = np.stack([sure[0], sure[1], chance[2], chance[3]])
    p2 = np.stack([sure[0], chance[1], sure[2], chance[3]])
    p12 = sure
    truth = np.array(["redundancy", "uniqueness1", "uniqueness2", "synergy"])
    res = pointwise_atoms(p1, p2, p12, y, prior, truth=truth)
    np.testing.assert_allclose(res.atoms(), np.eye(4), atol=1e-9)
    np.testing.assert_allclose(res.r + res.u1, res.i1)
    np.testing.assert_allclose(res.r + res.u2 + res.u1 + res.s, res.i12)
    assert res.agreement == 1.0
    assert res.extra["agreement_by_type"] == {t: 1.0 for t in truth}


def test_calibration_matches_dataset_redundancy_and_keeps_identities():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=(3, 50))
    y = rng.integers(0, 3, 50)
    res = pointwise_atoms(p[0], p[1], p[2], y, np.ones(3) / 3, calibrate=0.123)
    assert res.r.mean() == pytest.approx(0.123)
    np.testing.assert_allclose(res.r + res.u1, res.i1)
    np.testing.assert_allclose(res.atoms().sum(axis=1), res.i12)


def test_agreement_rate_ignores_unknown_types():
    rate, by = agreement_rate(np.array(["synergy", "redundancy", "synergy"]), np.array(["synergy", "synergy", "uniqueness3"]))
    assert rate == 0.5 and by == {"synergy": 0.5}


def _typed_fixture(n=900, seed=0):
    """Two modalities with one bit each plus a type code; per-sample interaction types."""
    rng = np.random.default_rng(seed)
    types = np.array(["redundancy", "uniqueness1", "uniqueness2"])[rng.integers(0, 3, n)]
    b1, b2 = rng.integers(0, 2, n), rng.integers(0, 2, n)
    y = np.where(types == "uniqueness2", b2, b1)
    b2 = np.where(types == "redundancy", b1, b2)
    code = (types[:, None] == np.array(["redundancy", "uniqueness1", "uniqueness2"])).astype(float)
    x1 = np.concatenate([2 * b1[:, None] - 1.0, code], 1) + 0.1 * rng.standard_normal((n, 4))
    x2 = np.concatenate([2 * b2[:, None] - 1.0, code], 1) + 0.1 * rng.standard_normal((n, 4))
    split = np.where(np.arange(n) < int(0.7 * n), "train", "test")
    return MultimodalDataset({"a": x1, "b": x2}, y.astype(np.int64), splits=split, sample_meta={"interaction": types})


def test_composition_agrees_with_ground_truth_and_dataset_level():
    ds = _typed_fixture()
    res = pointwise_composition(ds, model="mlp", seed=0)
    assert res.agreement > 0.8
    m = res.means()
    # averages equal the cross-entropy MI estimates by construction
    assert m["R"] + m["U1"] == pytest.approx(m["I1"])
    assert m["R"] + m["U1"] + m["U2"] + m["S"] == pytest.approx(m["I12"])
    # I(X1;Y) = 1/3 + 1/3 bit (types R and U1), I(X1,X2;Y) = 1 bit in the noise-free limit
    assert m["I1"] == pytest.approx(2 / 3, abs=0.15)
    assert m["I12"] == pytest.approx(1.0, abs=0.15)
    assert res.extra["eval_split"] == "test" and not res.extra["in_sample"]


@pytest.mark.slow
def test_composition_on_synthetic_suite():
    from infofusion.data import load_dataset

    for task, expected in [("synergy", "synergy"), ("redundancy", "redundancy"), ("uniqueness1", "uniqueness1")]:
        res = pointwise_composition(load_dataset(f"synthetic:{task}", n=2000))
        assert res.summary()["dominant_share"][expected] > 0.7


def test_composition_refuses_in_sample_scoring():
    from infofusion.errors import ConfigError

    ds = _typed_fixture(n=120).with_splits(np.full(120, "train"))
    with pytest.raises(ConfigError, match="held-out"):
        pointwise_composition(ds, model="logistic")
    with pytest.raises(ConfigError, match="held-out"):
        pointwise_composition(_typed_fixture(n=120), model="logistic", eval_split="train")
