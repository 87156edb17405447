"""Synthetic imbalance tasks: ground truth, closed-form Bayes accuracies, reproducibility, and
(slow) that joint fusion really leaves the weak modality under-trained on them."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from infofusion.data import load_dataset
from infofusion.data.synthetic import IMBALANCE_TASKS, imbalance_bayes_accuracy
from infofusion.errors import ConfigError


@pytest.mark.parametrize("task", list(IMBALANCE_TASKS))
def test_ground_truth_of_each_sample(task):
    ds = load_dataset(f"synthetic:{task}", n=3000, seed=4)
    names = ds.info["latent_names"]
    lat = ds.sample_meta["latent"].astype(int)
    y = ds.target.numpy()
    informs, b, s = lat[:, names.index("m1_informative")], lat[:, names.index("b")], lat[:, 2:]
    assert names[2:] == ["s1", "s2", "s3", "s4"]
    assert np.array_equal(s.sum(axis=1) % 2, y)  # m2's bits: their parity is the label, always
    assert np.array_equal(b[informs == 1], y[informs == 1])  # m1's bit is the label where informative
    inter = ds.sample_meta["interaction"]
    assert set(inter) == {"redundancy", "uniqueness2"}
    assert np.array_equal(inter == "redundancy", informs == 1)
    p = IMBALANCE_TASKS[task]["informative"]
    assert abs(informs.mean() - p) < 4 * math.sqrt(p * (1 - p) / len(y))
    # where m1 is a coin it agrees with the label about half the time
    agree = (b[informs == 0] == y[informs == 0]).mean()
    assert abs(agree - 0.5) < 4 * math.sqrt(0.25 / max((informs == 0).sum(), 1))
    assert ds.info["strong_modality"] == "m1" and ds.info["weak_modality"] == "m2"
    assert ds.names == ("m1", "m2") and ds.modality("m1").shape == (3000, 16)


def test_same_seed_same_arrays_other_seed_differs():
    a, b = load_dataset("synthetic:imbalance", n=200, seed=1), load_dataset("synthetic:imbalance", n=200, seed=1)
    c = load_dataset("synthetic:imbalance", n=200, seed=2)
    assert np.array_equal(a.modality("m2").numpy(), b.modality("m2").numpy()) and np.array_equal(a.target.numpy(), b.target.numpy())
    assert not np.allclose(a.modality("m2").numpy(), c.modality("m2").numpy())


def test_bayes_accuracy_closed_form_and_enumeration():
    """m2's closed form against a Monte Carlo with the posterior summed over all 2**k bit
    configurations (not the tanh product the implementation uses)."""
    margin, k, noise = 1.2, 3, 0.2
    acc = imbalance_bayes_accuracy(0.6, margin, k, noise)
    assert acc["m1"] == pytest.approx(0.8)
    sigma = math.sqrt(1 + noise**2)
    q = 0.5 * (1 + math.erf(margin / sigma / math.sqrt(2)))
    assert acc["m2"] == pytest.approx(0.5 * (1 + (2 * q - 1) ** k))
    rng = np.random.default_rng(0)
    n = 40_000
    y = rng.integers(0, 2, n)
    s = rng.integers(0, 2, (n, k))
    s[:, -1] = (y + s[:, :-1].sum(1)) % 2
    x = margin * (2 * s - 1) + sigma * rng.normal(size=s.shape)
    like = np.zeros((n, 2))
    for bits in itertools.product([0, 1], repeat=k):
        centre = margin * (2 * np.array(bits) - 1)
        like[:, sum(bits) % 2] += np.exp(-((x - centre) ** 2).sum(1) / (2 * sigma**2))
    empirical = (like.argmax(1) == y).mean()
    assert empirical == pytest.approx(acc["m2"], abs=0.01)
    assert acc["fused"] > max(acc["m1"], acc["m2"])  # complementary: together beats either


def test_linear_readout_of_m1_reaches_its_bayes_accuracy():
    from sklearn.linear_model import LogisticRegression

    ds = load_dataset("synthetic:imbalance_strong", n=4000, seed=0)
    tr, te = ds.indices("train").numpy(), ds.indices("test").numpy()
    x, y = ds.modality("m1").numpy(), ds.target.numpy()
    acc = LogisticRegression(max_iter=1000).fit(x[tr], y[tr]).score(x[te], y[te])
    assert acc == pytest.approx(ds.info["bayes_accuracy"]["m1"], abs=0.03)
    x2 = ds.modality("m2").numpy()  # a parity: no linear read-out of m2 beats chance
    assert LogisticRegression(max_iter=1000).fit(x2[tr], y[tr]).score(x2[te], y[te]) < 0.58


def test_imbalance_options_are_checked():
    with pytest.raises(ConfigError, match="unknown option.*synthetic:imbalance: proportions"):
        load_dataset("synthetic:imbalance", proportions={"redundancy": 1.0})
    with pytest.raises(ConfigError, match="informative must be in \\[0, 1\\], got 1.5"):
        load_dataset("synthetic:imbalance", informative=1.5)
    with pytest.raises(ConfigError, match="dim >= parity \\+ 1"):
        load_dataset("synthetic:imbalance", dim=4, parity=4)
    ds = load_dataset("synthetic:imbalance", n=100, parity=2, weak_margin=3.0)
    assert ds.info["generator"]["parity"] == 2 and ds.sample_meta["latent"].shape == (100, 4)


@pytest.mark.slow
def test_joint_fusion_leaves_the_weak_modality_under_trained():
    """The point of the tasks: with the bench budget, joint fusion's m2 encoder is far worse
    (linear probe) than m2 trained alone, while a balancing method (MLB) recovers it."""
    import torch

    from infofusion.api import bench_config
    from infofusion.evaluation.probe import linear_probe
    from infofusion.training import fit

    torch.set_num_threads(1)
    ds = load_dataset("synthetic:imbalance_strong")
    cfg = bench_config()
    probe = {}
    for name, options in [("joint", {}), ("mlb", {}), ("unimodal", {"modality": "m2"})]:
        res = fit(name, ds, cfg, **options)
        probe[name] = linear_probe(res.method, res.data)["m2"].scores["test"]
    assert probe["joint"] < probe["unimodal"] - 0.15
    assert probe["mlb"] > probe["joint"] + 0.15
