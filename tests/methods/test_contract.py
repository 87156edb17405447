"""One contract test over every registered method: shapes, losses, gradients, padding, config.

A new method registered under kind "method" gets these checks for free.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infofusion.errors import ConfigError
from infofusion.interfaces import MethodOutput
from infofusion.registry import create, get, list_components
from tests.helpers import regression_dataset, xor_dataset

METHODS = list_components("method")


def _build(name, data):
    return create("method", name, spec=data.spec, hidden=16, embed_dim=8)


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("kind", ["classification", "regression", "sequence"])
def test_forward_backward_contract(name, kind):
    torch.manual_seed(0)
    data = {
        "classification": lambda: xor_dataset(n=64),
        "regression": lambda: regression_dataset(n=64),
        "sequence": lambda: xor_dataset(n=64, sequence=True),
    }[kind]().standardize()
    if data.task not in get("method", name).tasks:  # declared out of the method's definition
        with pytest.raises(ConfigError, match=f"{name}.*classification only.*regression"):
            _build(name, data)
        return
    method = _build(name, data)
    batch = data.batch(torch.arange(16))
    out = method(batch)
    assert isinstance(out, MethodOutput)
    expected = (16, 2) if data.task == "classification" else (16,)
    assert tuple(out.prediction.shape) == expected
    assert out.losses, "a method must return at least one loss term"
    for term, value in out.losses.items():
        assert value.ndim == 0 and torch.isfinite(value), term
    for key, value in out.diagnostics.items():
        assert value.ndim == 0 or value.shape[0] == 16, key
    for mod, pred in out.unimodal.items():
        assert mod in data.names and tuple(pred.shape) == expected
    sum(out.losses.values()).backward()
    grads = [p.grad for p in method.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert isinstance(method.config, dict)


@pytest.mark.parametrize("name", METHODS)
def test_padding_does_not_leak(name):
    """Changing values at padded positions must not change any output."""
    torch.manual_seed(0)
    data = xor_dataset(n=32, sequence=True)
    method = _build(name, data.standardize()).eval()
    batch = data.batch(torch.arange(32))
    with torch.no_grad():
        out1 = method(batch).prediction
        mask = batch.mask("b")
        batch.x["b"] = torch.where(mask.unsqueeze(-1), batch.x["b"], torch.randn_like(batch.x["b"]) * 1e3)
        out2 = method(batch).prediction
    np.testing.assert_allclose(out1.numpy(), out2.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", METHODS)
def test_multimodal_methods_use_every_modality(name):
    torch.manual_seed(0)
    data = xor_dataset(n=32).standardize()
    method = _build(name, data).eval()
    if not method.multimodal:  # declared unimodal prediction (unimodal, reference ITHP readout)
        return
    batch = data.batch(torch.arange(32))
    with torch.no_grad():
        base = method(batch).prediction
        for m in data.names:
            changed = data.batch(torch.arange(32))
            changed.x[m] = changed.x[m] + 3.0
            assert not torch.allclose(method(changed).prediction, base), f"{name} ignores modality {m}"


def test_unknown_option_is_a_typed_error():

    data = xor_dataset(n=32)
    with pytest.raises(ConfigError, match="unknown options: bogus"):
        create("method", "joint", spec=data.spec, bogus=1)


@pytest.mark.parametrize("name", METHODS)
def test_recorded_options_rebuild_the_method(name):
    """The record is read from the constructor signatures: every explicit option of the class
    and of the bases its **kwargs reach, with the value given or the default; building the
    class again from the record gives the same model."""
    import inspect

    data = xor_dataset(n=32)
    cls = get("method", name)
    torch.manual_seed(0)
    method = create("method", name, spec=data.spec, hidden=16, embed_dim=8)
    params = method.get_params()
    declared = {
        p for klass in cls.__mro__ if "__init__" in vars(klass) and klass.__module__.startswith("infofusion.methods")
        for p, par in inspect.signature(vars(klass)["__init__"]).parameters.items()
        if p not in ("self", "spec") and par.kind not in (par.VAR_KEYWORD, par.VAR_POSITIONAL)
    }
    assert set(params) == declared
    assert params["hidden"] == 16 and params["embed_dim"] == 8
    torch.manual_seed(0)
    again = cls(data.spec, **params)
    assert again.get_params() == params
    state, state2 = method.state_dict(), again.state_dict()
    assert state.keys() == state2.keys()
    for k in state:  # tensors equal; a module's extra state (e.g. a log) equal as a value
        same = torch.equal(state[k], state2[k]) if torch.is_tensor(state[k]) else state[k] == state2[k]
        assert same, k


def test_ithp_record_has_every_option_and_the_alias():
    data = xor_dataset(n=32)
    params = create("method", "ithp", spec=data.spec, prime="b", order_max_samples=500, **{"lambda": 0.5}).get_params()
    assert params["prime"] == "b" and params["order_max_samples"] == 500 and params["lam"] == 0.5
    assert {"order", "estimator", "order_criterion", "order_max_dim", "track_info_plane", "modalities"} <= set(params)


def test_unknown_option_names_a_close_match():
    data = xor_dataset(n=32)
    with pytest.raises(ConfigError, match="unknown options: hiden \\(did you mean 'hidden'\\?\\)"):
        create("method", "late", spec=data.spec, hiden=16)
