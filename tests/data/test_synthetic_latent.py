"""The synthetic suite's latent truth: exact latent joint, its BROJA atoms, the noise-free
variant, and recovery of the latent atoms from the noise-free data."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.data import load_dataset
from infofusion.data.synthetic import TASKS, latent_atoms, latent_joint
from infofusion.errors import ConfigError
from infofusion.measures.pid._info import LN2, mutual_informations


@pytest.mark.parametrize("task", list(TASKS))
def test_latent_joint_is_a_distribution_with_one_bit_about_y(task):
    p = latent_joint(task)
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()
    mi = mutual_informations(p)
    assert mi["H(Y)"] / LN2 == pytest.approx(1.0)
    two = TASKS[task][0] == 2
    # two modalities determine y; in the 3-modality tasks the pair carries what m3 does not add
    if two:
        assert mi["I(X1,X2;Y)"] / LN2 == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    "task,expected",
    [
        ("redundancy", {"R": 1.0, "U1": 0.0, "U2": 0.0, "S": 0.0}),
        ("uniqueness1", {"R": 0.0, "U1": 1.0, "U2": 0.0, "S": 0.0}),
        ("uniqueness2", {"R": 0.0, "U1": 0.0, "U2": 1.0, "S": 0.0}),
        ("synergy", {"R": 0.0, "U1": 0.0, "U2": 0.0, "S": 1.0}),
        # the type is seen by both modalities: I(X1;Y) = I(X2;Y) = 1/2 bit, all of it shared
        ("mixed", {"R": 0.5, "U1": 0.0, "U2": 0.0, "S": 0.5}),
        ("synergy3", {"R": 0.0, "U1": 0.0, "U2": 0.0, "S": 0.0}),  # every pair is at chance
    ],
)
def test_latent_atoms_known_values(task, expected):
    got = latent_atoms(task)
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, abs=1e-6), (task, got)


def test_every_task_records_latent_atoms_and_the_variant():
    for task in TASKS:
        ds = load_dataset(f"synthetic:{task}", n=40)
        assert set(ds.info["latent_pid_bits"]) == {"R", "U1", "U2", "S"}
        assert ds.info["clean"] is False
    mix = load_dataset("synthetic:mixed", n=40, proportions={"redundancy": 1, "synergy": 3})
    assert mix.info["latent_pid_bits"]["S"] > mix.info["latent_pid_bits"]["R"]


def test_clean_variant_is_a_function_of_the_latent_symbol():
    ds = load_dataset("synthetic:mixed", n=600, clean=True)
    assert ds.info["clean"] and ds.info["noise"] == 0.0 and ds.info["generator"]["n_nuisance"] == 0
    lat = ds.sample_meta["latent"]
    names = ds.info["latent_names"]
    sym = lat[:, [names.index(c) for c in ("type", "r", "u1", "s1")]]
    x = ds.modality("m1").numpy()
    # same latent symbol <=> same feature row
    _, sym_codes = np.unique(sym, axis=0, return_inverse=True)
    _, x_codes = np.unique(x, axis=0, return_inverse=True)
    assert len(np.unique(np.stack([sym_codes.ravel(), x_codes.ravel()], 1), axis=0)) == len(np.unique(x_codes))
    assert len(np.unique(x_codes)) == len(np.unique(sym_codes))
    with pytest.raises(ConfigError, match="unknown option"):
        load_dataset("synthetic:mixed", n=40, clen=True)


@pytest.mark.parametrize("task", ["synergy", "mixed"])
def test_default_analysis_recovers_latent_atoms_on_clean_data(task):
    """The noise-free variant's features determine the latents: the default path is exact up
    to sampling error (target of the continuous path: every atom within 0.1 bits)."""
    from infofusion.api import analyze

    ds = load_dataset(f"synthetic:{task}", n=2000, clean=True)
    res = analyze(ds, n_boot=10, n_perm=0, pointwise=False, out_dir=None, console=False)
    assert res.analysis.estimator == "plugin"
    truth = ds.info["latent_pid_bits"]
    for k, v in truth.items():
        assert res.estimate.atoms[k].value == pytest.approx(v, abs=0.05), (k, res.estimate.values())
