"""Synthetic tasks with known corrupted samples: a pure-noise extra modality, a modality noisy on
a known subset (``sample_meta["corrupted"]``)."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.data import load_dataset
from infofusion.errors import ConfigError


def test_pure_noise_modality_is_added_to_the_unchanged_base_task():
    base = load_dataset("synthetic:mixed", n=400, seed=3)
    noisy = load_dataset("synthetic:mixed_noise", n=400, seed=3)
    assert noisy.names == ("m1", "m2", "m3")
    for m in ("m1", "m2"):  # same features, labels and splits as the base task
        np.testing.assert_array_equal(noisy.modality(m).numpy(), base.modality(m).numpy())
    np.testing.assert_array_equal(noisy.target.numpy(), base.target.numpy())
    for s in ("train", "valid", "test"):
        np.testing.assert_array_equal(noisy.indices(s).numpy(), base.indices(s).numpy())
    flags = noisy.sample_meta["corrupted"]
    assert flags.shape == (400, 3) and flags[:, 2].all() and not flags[:, :2].any()
    # pure noise: independent of the label (class means of m3 agree within sampling error)
    x3, y = noisy.modality("m3").numpy(), noisy.target.numpy()
    diff = np.abs(x3[y == 0].mean(0) - x3[y == 1].mean(0))
    assert diff.max() < 4 * np.sqrt(1 / (y == 0).sum() + 1 / (y == 1).sum())
    assert abs(x3.std() - 1.0) < 0.05


def test_partial_corruption_replaces_exactly_the_flagged_samples():
    base = load_dataset("synthetic:mixed3", n=1000, seed=4)
    part = load_dataset("synthetic:mixed3_partial", n=1000, seed=4)
    flags = part.sample_meta["corrupted"]
    assert not flags[:, :2].any()
    col = flags[:, 2]
    assert 0.25 < col.mean() < 0.35  # a random 30 %
    x, x0 = part.modality("m3").numpy(), base.modality("m3").numpy()
    np.testing.assert_array_equal(x[~col], x0[~col])  # clean samples untouched
    assert not np.isclose(x[col], x0[col]).all(axis=1).any()  # every flagged sample replaced
    np.testing.assert_array_equal(part.modality("m1").numpy(), base.modality("m1").numpy())
    assert part.info["base_task"] == "mixed3" and part.info["corruption"]["corrupt"] == "m3"


def test_corruption_options_on_any_task_and_their_errors():
    d = load_dataset("synthetic:redundancy", n=200, noise_modalities=2, corrupt="m1", corrupt_fraction=1.0)
    assert d.names == ("m1", "m2", "m3", "m4")
    assert d.sample_meta["corrupted"].all(axis=0).tolist() == [True, False, True, True]
    with pytest.raises(ConfigError, match="m9"):
        load_dataset("synthetic:mixed", n=200, corrupt="m9")
    with pytest.raises(ConfigError, match="corrupt_fraction"):
        load_dataset("synthetic:mixed", n=200, corrupt="m1", corrupt_fraction=1.5)
    with pytest.raises(ConfigError, match="mixed_noise"):
        load_dataset("synthetic:mixed_nosie", n=200)
