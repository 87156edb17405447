"""Synthetic suite: reproducible, labelled by the stated rules, with the stated information."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from infofusion.data import load_dataset
from infofusion.data.synthetic import TASKS, synthetic
from infofusion.errors import ConfigError
from infofusion.registry import list_components


def _np(ds, name):
    return ds.modality(name).numpy()


def _latent(ds, name):
    return ds.sample_meta["latent"][:, ds.info["latent_names"].index(name)].astype(int)


def _fit_score(x, target, ds):
    """Train a logistic regression on the train split, accuracy on the test split."""
    tr, te = ds.indices("train").numpy(), ds.indices("test").numpy()
    clf = LogisticRegression(max_iter=1000).fit(x[tr], target[tr])
    return clf, float(np.mean(clf.predict(x[te]) == target[te]))


@pytest.fixture(scope="module")
def datasets():
    return {task: synthetic(task) for task in ("redundancy", "uniqueness1", "synergy", "mixed")}


def test_registered_and_loadable_by_spec():
    assert {"synthetic", "uci_mfeat", "digits"} <= set(list_components("dataset"))
    ds = load_dataset("synthetic:synergy", n=200)
    assert ds.name == "synthetic:synergy" and ds.n == 200


@pytest.mark.parametrize("task", sorted(TASKS))
def test_shapes_splits_and_dtypes(task):
    ds = synthetic(task, n=500, dim=8)
    n_mod = TASKS[task][0]
    assert ds.names == tuple(f"m{i + 1}" for i in range(n_mod))
    assert all(tuple(ds.modality(m).shape) == (500, 8) for m in ds.names)
    assert ds.modality("m1").dtype == torch.float32
    assert ds.target.dtype == torch.int64 and ds.task == "classification" and ds.n_classes == 2
    sizes = {k: len(v) for k, v in ds.splits.items()}
    assert sizes == {"train": 300, "valid": 100, "test": 100}
    allidx = torch.cat(list(ds.splits.values())).sort().values
    assert allidx.tolist() == list(range(500))
    types = set(ds.sample_meta["interaction"].tolist())
    assert types == set(TASKS[task][1])


def test_defaults():
    ds = synthetic("synergy")
    assert ds.n == 4000 and ds.modality("m1").shape[1] == 16
    assert synthetic(None, n=100).name == "synthetic:mixed"
    assert ds.info["pid_bits"]["synergy"] == 1.0


def test_same_seed_same_arrays_other_seed_differs():
    a = synthetic("mixed", n=300, seed=7)
    b = synthetic("mixed", n=300, seed=7)
    c = synthetic("mixed", n=300, seed=8)
    for m in a.names:
        assert torch.equal(a.modality(m), b.modality(m))
    assert torch.equal(a.target, b.target)
    assert all(torch.equal(a.indices(k), b.indices(k)) for k in ("train", "valid", "test"))
    np.testing.assert_array_equal(a.sample_meta["interaction"], b.sample_meta["interaction"])
    np.testing.assert_array_equal(a.sample_meta["latent"], b.sample_meta["latent"])
    assert not torch.equal(a.modality("m1"), c.modality("m1"))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_labels_follow_the_stated_rules_exactly(task):
    ds = synthetic(task, n=600, seed=3)
    y = ds.target.numpy()
    kinds = ds.sample_meta["interaction"]
    n_mod = len(ds.names)
    for kind in set(kinds.tolist()):
        sel = kinds == kind
        if kind == "redundancy":
            rule = _latent(ds, "r")
        elif kind == "synergy":
            rule = sum(_latent(ds, f"s{m + 1}") for m in range(n_mod)) % 2
        else:
            rule = _latent(ds, "u" + kind[len("uniqueness") :])
        np.testing.assert_array_equal(y[sel], rule[sel], err_msg=kind)


def test_mixed_type_proportions():
    ds = synthetic("mixed", n=4000, seed=0)
    kinds, counts = np.unique(ds.sample_meta["interaction"], return_counts=True)
    assert kinds.tolist() == ["redundancy", "synergy", "uniqueness1", "uniqueness2"]
    # 4000 draws at p = 1/4: sd = 27, so +-150 is more than 5 sd
    assert np.all(np.abs(counts - 1000) < 150)
    assert ds.info["interaction_proportions"]["synergy"] == 0.25
    custom = synthetic("mixed", n=500, proportions={"synergy": 3, "redundancy": 1})
    assert set(custom.sample_meta["interaction"].tolist()) == {"synergy", "redundancy"}
    assert custom.info["interaction_proportions"]["synergy"] == 0.75


def test_redundancy_each_modality_alone_predicts(datasets):
    ds = datasets["redundancy"]
    y = ds.target.numpy()
    for m in ("m1", "m2"):
        assert _fit_score(_np(ds, m), y, ds)[1] > 0.9, m


def test_uniqueness_only_m1_carries_the_label(datasets):
    ds = datasets["uniqueness1"]
    y = ds.target.numpy()
    assert _fit_score(_np(ds, "m1"), y, ds)[1] > 0.9
    # 800 test samples: chance accuracy has sd 0.018
    assert abs(_fit_score(_np(ds, "m2"), y, ds)[1] - 0.5) < 0.07


def test_synergy_alone_at_chance_together_near_perfect(datasets):
    ds = datasets["synergy"]
    y = ds.target.numpy()
    te = ds.indices("test").numpy()
    # each modality alone: a linear model is at chance (so is any model: y is independent)
    for m in ("m1", "m2"):
        assert abs(_fit_score(_np(ds, m), y, ds)[1] - 0.5) < 0.07, m
    # both modalities, linearly: still chance (XOR is not linearly separable)
    both = np.concatenate([_np(ds, "m1"), _np(ds, "m2")], axis=1)
    assert abs(_fit_score(both, y, ds)[1] - 0.5) < 0.07
    # both modalities, nonlinearly: decode each modality's bit, then XOR
    bits = []
    for k, m in enumerate(("m1", "m2")):
        clf, acc = _fit_score(_np(ds, m), _latent(ds, f"s{k + 1}"), ds)
        assert acc > 0.95, m
        bits.append(clf.predict(_np(ds, m)))
    y_hat = (bits[0] + bits[1]) % 2
    assert np.mean(y_hat[te] == y[te]) > 0.9


def test_synergy3_pairs_at_chance_triple_determines():
    ds = synthetic("synergy3", n=3000, seed=1)
    y = ds.target.numpy()
    s = [_latent(ds, f"s{k}") for k in (1, 2, 3)]
    # any two bits are independent of y: the XOR of two agrees with y half of the time
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert abs(np.mean((s[i] + s[j]) % 2 == y) - 0.5) < 0.05
    assert np.array_equal((s[0] + s[1] + s[2]) % 2, y)
    pair = np.concatenate([_np(ds, "m1"), _np(ds, "m2")], axis=1)
    assert abs(_fit_score(pair, y, ds)[1] - 0.5) < 0.07


def test_mixed_per_modality_ceiling(datasets):
    """m1 alone can resolve redundancy and uniqueness1 samples only: accuracy <= ~0.75."""
    ds = datasets["mixed"]
    y = ds.target.numpy()
    kinds = ds.sample_meta["interaction"]
    te = ds.indices("test").numpy()
    # oracle decoders of the latent parts carried by m1 (type, r, u1) and by m2 (type, u2, s2)
    x1, x2 = _np(ds, "m1"), _np(ds, "m2")
    type_idx = _latent(ds, "type")
    t_hat, t_acc = _fit_score(x1, type_idx, ds)
    assert t_acc > 0.95  # the type is visible in the modality
    dec = {}
    for name, x in (("r", x1), ("u1", x1), ("s1", x1), ("u2", x2), ("s2", x2)):
        clf, acc = _fit_score(x, _latent(ds, name), ds)
        assert acc > 0.8, name  # linear read-out of a bit bent by the type code
        dec[name] = clf.predict(x)
    types = list(ds.info["interaction_proportions"])
    kind_hat = np.array(types)[t_hat.predict(x1)]
    y_hat = np.select(
        [kind_hat == "redundancy", kind_hat == "uniqueness1", kind_hat == "uniqueness2"],
        [dec["r"], dec["u1"], dec["u2"]],
        (dec["s1"] + dec["s2"]) % 2,
    )
    assert np.mean(y_hat[te] == y[te]) > 0.8
    # m1 carries nothing about y on uniqueness2 and synergy samples
    for kind, bit in (("uniqueness2", "u1"), ("synergy", "s1")):
        sel = kinds == kind
        assert abs(np.mean(dec[bit][sel] == y[sel]) - 0.5) < 0.06, kind


def test_noise_free_bits_are_perfectly_decodable():
    ds = synthetic("synergy", n=2000, noise=0.0)
    for k, m in enumerate(("m1", "m2")):
        assert _fit_score(_np(ds, m), _latent(ds, f"s{k + 1}"), ds)[1] > 0.97


def test_invalid_arguments():
    with pytest.raises(ConfigError, match="unknown synthetic task 'xor'"):
        synthetic("xor")
    with pytest.raises(ConfigError, match="unknown option"):
        synthetic("synergy", dims=3)
    with pytest.raises(ConfigError, match="proportions"):
        synthetic("mixed", proportions={"uniqueness3": 1.0})
    with pytest.raises(ConfigError, match="noise"):
        synthetic("mixed", noise=-1)
    with pytest.raises(ConfigError, match="at least 20"):
        synthetic("mixed", n=5)


@pytest.mark.slow
def test_mlp_on_both_modalities_solves_synergy():
    from sklearn.neural_network import MLPClassifier

    ds = synthetic("synergy")
    y = ds.target.numpy()
    tr, te = ds.indices("train").numpy(), ds.indices("test").numpy()
    x = np.concatenate([_np(ds, "m1"), _np(ds, "m2")], axis=1)
    clf = MLPClassifier((64,), max_iter=400, random_state=0).fit(x[tr], y[tr])
    assert clf.score(x[te], y[te]) > 0.85
    x1 = _np(ds, "m1")
    clf1 = MLPClassifier((64,), max_iter=400, random_state=0).fit(x1[tr], y[tr])
    assert abs(clf1.score(x1[te], y[te]) - 0.5) < 0.07
