"""One contract test over every registered MI estimator (new estimators get it for free)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from infofusion.errors import ConfigError, EstimationError
from infofusion.interfaces import Estimate, MIEstimator
from infofusion.measures.mi import create_estimator, list_estimators
from infofusion.registry import get, list_components

# fast settings per estimator; the contract is about the interface, not accuracy
FAST: dict[str, dict] = {
    "auto": {"neural_steps": 30},
    **{b: {"max_steps": 30, "eval_every": 10} for b in ("infonce", "nwj", "dv", "mine", "smile")},
    "club": {"max_steps": 30, "eval_every": 10},
    "vclub": {"max_steps": 30, "eval_every": 10},
    "plugin": {"bins": 4},
    "wdm": {"max_steps": 30, "eval_every": 10},
    "dsmi": {"max_samples": 150, "repeats": 2},
}
NAMES = list_components("estimator")


def _data(name: str, n: int = 300):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 2))
    y = x[:, :1] + 0.5 * rng.standard_normal((n, 1))
    if name == "mixed":
        x = (x[:, :1] > 0).astype(int)
    return x, y


def test_registry_lists_every_required_estimator():
    assert {
        "auto",
        "gaussian",
        "gcmi",
        "ksg",
        "plugin",
        "mixed",
        "infonce",
        "nwj",
        "dv",
        "mine",
        "smile",
        "club",
        "vclub",
        "cs_qmi",
        "dsmi",
        "wdm",
    } <= set(NAMES)
    assert all(list_estimators()[n] for n in NAMES)  # every one has a description


@pytest.mark.parametrize("name", NAMES)
def test_estimator_contract(name):
    est = create_estimator(name, **FAST.get(name, {}))
    assert isinstance(est, MIEstimator)
    params = est.parameters()
    assert dataclasses.is_dataclass(params)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, dataclasses.fields(params)[0].name, None)
    x, y = _data(name)
    result = est.estimate(x, y)
    cls = get("estimator", name)
    assert isinstance(result, Estimate)
    assert np.isfinite(result.value) and result.unit == cls.unit
    assert (cls.unit == "nats") == (cls.quantity != "wasserstein")
    assert result.extra.get("quantity", "mutual_information") == cls.quantity
    assert result.estimator == name
    assert result.params == dataclasses.asdict(params)
    assert result.stderr is not None and result.stderr >= 0
    assert result.ci[0] <= result.value <= result.ci[1]
    assert 0 < result.n <= len(x) and result.seconds > 0
    assert result.extra["kind"] in ("estimate", "lower_bound", "upper_bound")
    json.dumps(result.to_dict())  # records are JSON-ready
    if cls.unit == "nats":
        bits = result.to_bits()
        assert bits.value == pytest.approx(result.value / np.log(2))
    else:
        with pytest.raises(ValueError, match="distance"):
            result.to_bits()
    # torch tensors and lists are accepted as inputs too
    import torch

    assert np.isfinite(est.estimate(torch.as_tensor(x), y.tolist()).value)


@pytest.mark.parametrize("name", NAMES)
def test_estimator_input_errors(name):
    est = create_estimator(name, **FAST.get(name, {}))
    x, y = _data(name)
    with pytest.raises(EstimationError, match="samples"):
        est.estimate(x, y[:-1])
    bad = np.asarray(y, dtype=float).copy()
    bad[3] = np.nan
    with pytest.raises(EstimationError, match="non-finite"):
        est.estimate(x, bad)
    with pytest.raises(EstimationError):
        est.estimate(x[:1], y[:1])  # too few samples
    if not get("estimator", name).supports_conditional:
        with pytest.raises(EstimationError, match="conditional"):
            est.estimate(x, y, z=y)


@pytest.mark.parametrize("name", NAMES)
def test_constant_side_gives_exactly_zero(name):
    """I(X; constant) = 0 for every estimator, with no spurious uncertainty."""
    est = create_estimator(name, **FAST.get(name, {}))
    x, _ = _data(name)
    result = est.estimate(x, np.full(len(x), 3.5))
    assert result.value == 0.0 and result.stderr == 0.0 and result.ci == (0.0, 0.0)
    assert result.extra["constant_side"] == "y"


@pytest.mark.parametrize("name", NAMES)
def test_ragged_and_non_numeric_input_is_refused(name):
    est = create_estimator(name, **FAST.get(name, {}))
    with pytest.raises(EstimationError, match="rectangular"):
        est.estimate([[1.0, 2.0], [3.0]], [1.0, 2.0])
    with pytest.raises(EstimationError, match="numeric"):
        est.estimate(np.array(["a", "b"] * 20), np.arange(40.0))


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_is_named(name):
    with pytest.raises(ConfigError, match="no_such_option"):
        create_estimator(name, no_such_option=1)


@pytest.mark.parametrize(
    "name,bad",
    [
        ("ksg", {"k": 0}),
        ("ksg", {"algorithm": 3}),
        ("infonce", {"test_fraction": 1.5}),
        ("nwj", {"bound": "dv"}),
        ("plugin", {"bins": 1}),
    ],
)
def test_invalid_values_are_named(name, bad):
    key = next(iter(bad))
    with pytest.raises(ConfigError, match=key):
        create_estimator(name, **bad)


def test_unknown_estimator_suggests():
    with pytest.raises(ConfigError, match="did you mean 'ksg'"):
        create_estimator("ksgg")


def test_top_level_api():
    import infofusion

    x, y = _data("gaussian")
    est = infofusion.estimate_mi(x, y, estimator="gaussian")
    assert est.estimator == "gaussian" and est.value > 0.3
    assert infofusion.estimate_mi(x, y, z=x[:, 1:], estimator="ksg", k=3).extra["conditional"]
