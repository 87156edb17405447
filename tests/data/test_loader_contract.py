"""The container contract, checked on a tiny instance of every registered dataset loader.

Loaders are taken from the registry (kind ``"dataset"``), so a loader registered later is
covered without touching this file; its tiny instance is built by an entry of
``fixtures.LOADER_FIXTURES`` (files fabricated in the exact layout of its format), and a
registered loader without one fails here, saying so.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from infofusion.data import MultimodalDataset, load_dataset
from infofusion.errors import MissingDependencyError
from infofusion.evaluation.metrics import METRIC_PROTOCOLS, compute_metrics
from infofusion.interfaces import SPLITS
from infofusion.registry import list_components

try:
    from . import fixtures
except ImportError:
    import fixtures

LOADERS = list_components("dataset")


def fixture_builders(name: str) -> list:
    """The tiny-instance builders of loader ``name``; fails the test when there are none."""
    builders = fixtures.LOADER_FIXTURES.get(name)
    if not builders:
        pytest.fail(
            f"dataset loader {name!r} is registered but has no contract fixture: add one to "
            "LOADER_FIXTURES in tests/data/fixtures.py (a function of a temporary directory "
            "returning (spec, options) for a tiny instance in the format's exact layout)"
        )
    return builders


def check_contract(ds: MultimodalDataset, where: str) -> None:
    """Assert the container contract every loader must meet (messages start with ``where``)."""
    assert isinstance(ds, MultimodalDataset), f"{where}: returned {type(ds).__name__}"
    n = ds.n
    # ids: one per sample, unique
    assert ds.ids.shape == (n,), f"{where}: ids shape {ds.ids.shape}, expected ({n},)"
    assert len(set(map(str, ds.ids))) == n, f"{where}: sample ids are not unique"
    # splits: known names, train present, none empty, disjoint, together every sample
    assert set(ds.splits) <= set(SPLITS) and "train" in ds.splits, f"{where}: splits {list(ds.splits)}"
    counts = torch.zeros(n, dtype=torch.long)
    for split, idx in ds.splits.items():
        assert idx.dtype == torch.long and len(idx) > 0, f"{where}: split {split!r} empty or not int64"
        assert int(idx.min()) >= 0 and int(idx.max()) < n, f"{where}: split {split!r} out of range"
        counts += torch.bincount(idx, minlength=n)
    assert int(counts.max()) <= 1, f"{where}: splits overlap or repeat samples"
    assert int(counts.min()) >= 1, f"{where}: {int((counts == 0).sum())} samples are in no split"
    # modalities: shapes as the spec says, float32, finite; lengths within [1, T]
    spec = ds.spec
    assert [m.name for m in spec.modalities] == list(ds.names), f"{where}: spec vs modalities"
    for m in spec.modalities:
        x = ds.modality(m.name)
        want = (n, m.seq_len, m.dim) if m.is_sequence else (n, m.dim)
        assert tuple(x.shape) == want, f"{where}: {m.name} shape {tuple(x.shape)} vs spec {want}"
        assert x.dtype == torch.float32 and bool(torch.isfinite(x).all()), f"{where}: {m.name} values"
        ln = ds.lengths(m.name)
        if not m.is_sequence:
            assert ln is None, f"{where}: lengths given for vector modality {m.name}"
        elif ln is not None:
            assert ln.shape == (n,) and ln.dtype == torch.long, f"{where}: {m.name} lengths shape/dtype"
            lo, hi = int(ln.min()), int(ln.max())
            assert 1 <= lo and hi <= m.seq_len, f"{where}: {m.name} lengths in [{lo}, {hi}], T={m.seq_len}"
    # target: dtype and range by task
    y = ds.target
    assert y.shape == (n,), f"{where}: target shape {tuple(y.shape)}"
    if ds.task == "classification":
        assert y.dtype == torch.long, f"{where}: classification target dtype {y.dtype}"
        assert ds.n_classes >= 2 and 0 <= int(y.min()) and int(y.max()) < ds.n_classes, (
            f"{where}: labels outside [0, {ds.n_classes})"
        )
        assert spec.out_dim == ds.n_classes
    else:
        assert ds.task == "regression", f"{where}: task {ds.task!r}"
        assert y.dtype.is_floating_point and bool(torch.isfinite(y).all()), f"{where}: target {y.dtype}"
        assert spec.out_dim == 1
    # the metric protocol: a known one, for this task, and usable on the dataset's own target
    protocol = ds.info.get("protocol")
    assert protocol in METRIC_PROTOCOLS, f"{where}: info['protocol'] = {protocol!r} is not a known protocol"
    assert METRIC_PROTOCOLS[protocol].task == ds.task, f"{where}: protocol {protocol!r} is not for {ds.task}"
    proto = METRIC_PROTOCOLS[protocol]
    yn = y.numpy()
    perfect = np.eye(ds.n_classes)[yn] if ds.task == "classification" else yn
    best = 1.0 if proto.higher_is_better(proto.primary) else 0.0  # accuracy 1 / MAE 0
    assert compute_metrics(yn, perfect, ds.task, protocol)[proto.primary] == best, where
    # per-sample metadata: one row per sample; the summary is plain data
    for key, value in ds.sample_meta.items():
        assert len(value) == n, f"{where}: sample_meta {key!r} has {len(value)} rows"
    json.dumps(ds.describe(), default=str)


@pytest.mark.parametrize("name", LOADERS)
def test_registered_loader_meets_the_container_contract(name, tmp_path):
    for i, build in enumerate(fixture_builders(name)):
        directory = tmp_path / str(i)
        directory.mkdir()
        spec, options = build(directory)
        try:
            ds = load_dataset(spec, **options)
        except MissingDependencyError as exc:
            pytest.skip(f"{name}: {exc}")
        check_contract(ds, f"{name} fixture {i} ({spec.split(':')[0]}, {options})")


def test_a_loader_without_fixture_fails_with_instructions():
    assert set(fixtures.LOADER_FIXTURES) == set(LOADERS), "fixtures for unregistered loaders"
    with pytest.raises(pytest.fail.Exception, match="'newformat' is registered but has no contract fixture: add one"):
        fixture_builders("newformat")


def _valid(**changes):
    ds = MultimodalDataset(
        {"a": np.zeros((6, 2)), "s": np.ones((6, 3, 2))},
        np.array([0, 1, 0, 1, 0, 1]),
        lengths={"s": [1, 2, 3, 3, 2, 1]},
        splits={"train": [0, 1, 2, 3], "test": [4, 5]},
        info={"protocol": "classification"},
    )
    return ds._derive(**changes) if changes else ds


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"splits": {"train": torch.tensor([0, 1, 2, 3]), "test": torch.tensor([3, 4, 5])}}, "overlap"),
        ({"splits": {"train": torch.tensor([0, 1, 2, 3]), "test": torch.tensor([4])}}, "in no split"),
        ({"ids": np.array(["a", "b", "c", "d", "e", "a"], dtype=object)}, "not unique"),
        ({"info": {"protocol": "mosi"}}, "not a known protocol"),
        ({"info": {"protocol": "mmsa"}}, "not for classification"),
        ({"info": {}}, "not a known protocol"),
        ({"target": torch.tensor([0.0, 1, 0, 1, 0, 1])}, "classification target dtype"),
        ({"target": torch.tensor([0, 1, 0, 1, 0, 2])}, "labels outside"),
        ({"lengths": {"s": torch.tensor([1, 2, 4, 3, 2, 1])}}, "lengths in"),
        ({"lengths": {"s": torch.tensor([0, 2, 3, 3, 2, 1])}}, "lengths in"),
        ({"lengths": {"a": torch.tensor([1, 1, 1, 1, 1, 1])}}, "vector modality a"),
    ],
)
def test_contract_check_catches_each_violation(changes, message):
    check_contract(_valid(), "ok")  # the unchanged dataset passes
    with pytest.raises(AssertionError, match=message):
        check_contract(_valid(**changes), "bad")
