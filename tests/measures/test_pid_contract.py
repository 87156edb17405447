"""One contract per registry kind, checked on every registered entry.

Kind ``"pid"``: ``decompose(p) -> PIDResult`` on joint distributions. Kind
``"pid_estimator"``: ``estimate(dataset, modalities) -> PIDEstimate`` on datasets.
"""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError, EstimationError
from infofusion.measures.pid import PIDEstimate, PIDResult, canonical, create_estimator
from infofusion.registry import create, list_components

MEASURES = list_components("pid")
ESTIMATORS = list_components("pid_estimator")
# small settings so the contract runs in seconds; every estimator must have an entry
FAST = {
    "plugin": {"k": 3, "n_boot": 4, "n_perm": 2},
    "batch": {"epochs": 3, "hidden": 16, "eval_batch": 24, "n_eval_batches": 2},
}


def test_kinds_are_disjoint_and_complete():
    assert set(MEASURES) == {"broja", "imin", "mmi"}
    assert {"plugin", "batch"} <= set(ESTIMATORS)
    assert not set(MEASURES) & set(ESTIMATORS)
    assert set(ESTIMATORS) <= set(FAST)


@pytest.mark.parametrize("name", MEASURES)
def test_measure_contract(name):
    m = create("pid", name)
    assert isinstance(m.parameters(), dict)
    rng = np.random.default_rng(0)
    for p in (canonical.xor(), canonical.and_(), rng.dirichlet(np.ones(18)).reshape(3, 3, 2)):
        res = m.decompose(p)
        assert isinstance(res, PIDResult) and res.measure == name
        assert res.status in ("exact", "optimal", "inaccurate")
        assert min(res.atoms().values()) >= -1e-9
        assert res.R + res.U1 + res.U2 + res.S == pytest.approx(res.I12, abs=1e-9)
        assert res.R + res.U1 == pytest.approx(res.I1, abs=1e-9)
    assert m.decompose(canonical.xor()).S == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(EstimationError, match="negative"):
        m.decompose(-canonical.xor())
    with pytest.raises(AttributeError):
        m.estimate  # noqa: B018  -- a measure has no dataset-level method


def _dataset(n=240, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    mods = {"m1": (2 * a[:, None] - 1.0) + 0.1 * rng.standard_normal((n, 2)),
            "m2": (2 * b[:, None] - 1.0) + 0.1 * rng.standard_normal((n, 2))}
    split = np.array(["train", "valid", "test"])[np.arange(n) % 3]
    return MultimodalDataset(mods, (a ^ b).astype(np.int64), splits=split, name="xor")


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimator_contract(name):
    est = create_estimator(name, **FAST[name])
    params = est.parameters()
    assert isinstance(params, dict) and all(params[k] == v for k, v in FAST[name].items())
    out = est.estimate(_dataset(), ("m1", "m2"))
    assert isinstance(out, PIDEstimate) and out.unit == "bits"
    assert set(out.atoms) == {"R", "U1", "U2", "S"}
    for a in out.atoms.values():
        assert np.isfinite(a.value)
        lo, hi = a.ci
        assert lo <= hi and hi > lo  # never a zero-width interval
        assert lo >= 0.0 or not a.one_sided
    assert out.extra["estimator"] == name and out.extra["modalities"] == ["m1", "m2"]
    nats = out.in_unit("nats")
    assert nats.atoms["S"].value == pytest.approx(out.atoms["S"].value * np.log(2))
    with pytest.raises(ConfigError, match="bogus"):
        create_estimator(name, bogus=1)
    with pytest.raises(ConfigError, match="modality"):
        est.estimate(_dataset(), ("m1", "nope"))
