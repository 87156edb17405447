"""Gradient-balancing methods (OGM-GE, AGM, MLB, MMPareto): each mechanism against its formula on
a fixed batch, the shared pieces against closed forms, and identical replicas under DDP."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from infofusion.errors import ConfigError
from infofusion.functional.gradients import (
    agm_coefficients,
    min_norm_weights,
    mlb_coefficients,
    mmpareto_weights,
    ogm_coefficients,
    pareto_combine,
    shapley_from_coalitions,
)
from infofusion.methods.agm import AGM
from infofusion.methods.mlb import MLB
from infofusion.methods.mmpareto import MMPareto
from infofusion.methods.ogm_ge import OGMGE
from tests.helpers import regression_dataset
from tests.training.toy_methods import dominant_dataset

JOB = Path(__file__).with_name("balancing_job.py")
ROOT = Path(__file__).resolve().parents[2]
KW = dict(hidden=16, embed_dim=8, dropout=0.0)


class FakeTrainer:
    """What ``after_backward`` uses of the trainer, in one process."""

    def __init__(self, seed: int = 5) -> None:
        self.shared_generator = torch.Generator().manual_seed(seed)

    @staticmethod
    def all_reduce(stats, op="sum"):
        return stats


@pytest.fixture(scope="module")
def data():
    return dominant_dataset(n=120, seed=1).standardize()


def _batch(data, n=40):
    return data.batch(torch.arange(n))


def _grads(method):
    return {n: p.grad.detach().clone() for n, p in method.named_parameters() if p.grad is not None}


def _p_true(logits, y):
    return torch.softmax(logits, dim=-1)[torch.arange(len(y)), y]


# ---------------------------------------------------------------- closed forms of the math
def test_coefficient_formulas_by_hand():
    # OGM-GE, two modalities: rho_a = 30 / 10 = 3 > 1 -> 1 - tanh(0.5 * 3); b is not slowed
    assert ogm_coefficients([30.0, 10.0], 0.5) == pytest.approx([1 - math.tanh(1.5), 1.0])
    # three modalities: rho_m = s_m / mean(others)
    k = ogm_coefficients([4.0, 2.0, 2.0], 1.0)
    assert k == pytest.approx([1 - math.tanh(2.0), 1.0, 1.0])
    # MLB: r = 2 (lagging) boosted up to beta, r = 0.5 damped by 1 + tanh(alpha (r - 1))
    assert mlb_coefficients([2.0, 0.5], 0.8, [3.0, 3.0]) == pytest.approx(
        [1 + 2 * math.tanh(0.8), 1 + math.tanh(-0.4)])
    assert mlb_coefficients([1.0], 0.8, [2.0]) == [1.0]
    # AGM: losses (0.2, 0.9), running (0.5, 0.6), alpha 1.5
    k = agm_coefficients([0.2, 0.9], [0.5, 0.6], 1.5)
    assert k[0] == pytest.approx(math.exp(1.5 * (math.exp(0.1) - math.exp(0.7))))
    assert k[1] == pytest.approx(math.exp(1.5 * (math.exp(-0.1) - math.exp(-0.7))))
    assert agm_coefficients([9.0, 0.0], [0.0, 9.0], 1.0)[0] == pytest.approx(math.exp(10.0))  # clip


def test_min_norm_weights_two_conflicting_gradients():
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 2.0])
    # c* = <g2 - g1, g2> / ||g1 - g2||^2 = (2 + 4) / (4 + 4) = 0.75
    assert min_norm_weights(g1, g2) == pytest.approx((0.75, 0.25))
    # the min-norm point of the hull: no other convex combination is shorter
    best = 0.75 * g1 + 0.25 * g2
    for c in np.linspace(0, 1, 101):
        assert float(best.norm()) <= float((c * g1 + (1 - c) * g2).norm()) + 1e-9
    w_m, w_u, cos = mmpareto_weights(g1, g2)
    assert cos < 0 and (w_m, w_u) == pytest.approx((0.75, 0.25))
    assert mmpareto_weights(g1, torch.tensor([1.0, 1.0]))[:2] == (0.5, 0.5)  # agreeing


def test_pareto_combine_conflict_keeps_norm_agreement_sums():
    g_m = [torch.tensor([[1.0, 0.0]]), torch.tensor([0.5])]
    g_u = [torch.tensor([[-1.0, 2.0]]), torch.tensor([-0.5])]
    out, (w_m, w_u, cos) = pareto_combine(g_m, g_u, gamma=1.0)
    assert cos < 0
    flat_m, flat_u = torch.cat([g.reshape(-1) for g in g_m]), torch.cat([g.reshape(-1) for g in g_u])
    assert (w_m, w_u) == pytest.approx(min_norm_weights(flat_m, flat_u))
    for d, gm, gu in zip(out, g_m, g_u, strict=True):
        direction = w_m * gm + w_u * gu
        orig = float((gm + gu).norm())
        if float((2 * direction).norm()) < orig:  # rescaled to the original norm, same direction
            assert float(d.norm()) == pytest.approx(orig)
            assert torch.allclose(d / d.norm(), direction / direction.norm())
        else:
            assert torch.allclose(d, 2 * direction)
    agree, (a, b, _) = pareto_combine([torch.tensor([1.0, 1.0])], [torch.tensor([2.0, 0.5])], gamma=1.5)
    assert (a, b) == (0.5, 0.5) and torch.allclose(agree[0], 1.5 * torch.tensor([3.0, 1.5]))


def test_shapley_two_players_is_agms_decomposition():
    v = torch.randn(4, 3, 2)  # rows: empty, {a}, {b}, {a, b}
    phi = shapley_from_coalitions(v)
    # AGM's response of a: (f(a, v) - f(0, v) + f(a, 0)) / 2
    assert torch.allclose(phi[0], 0.5 * (v[3] - v[2] + v[1]), atol=1e-6)
    assert torch.allclose(phi[1], 0.5 * (v[3] - v[1] + v[2]), atol=1e-6)
    assert torch.allclose(phi.sum(0), v[3], atol=1e-6)  # efficiency: sums to the full coalition
    v3 = torch.randn(8, 5)
    assert torch.allclose(shapley_from_coalitions(v3).sum(0), v3[7], atol=1e-5)


def test_linear_head_responses_closed_form_equal_the_coalition_sum(data):
    torch.manual_seed(0)
    method = OGMGE(data.spec, head="linear", **KW).eval()
    h = method.encode(method.encoders, _batch(data))
    zeros = {m: torch.zeros_like(v[:1]) for m, v in h.items()}
    closed = method.responses(h, zeros)
    w, b = method.head.weight, method.head.bias
    assert torch.allclose(closed["a"], h["a"] @ w[:, :8].T + b / 2, atol=1e-6)  # OGM-GE's split
    method.head_kind = "mlp"  # the generic path over all coalitions, through the same linear layer
    generic = method.responses(h, zeros)
    for m in ("a", "b"):
        assert torch.allclose(closed[m], generic[m], atol=1e-5)


# ---------------------------------------------------------------- each method on a fixed batch
def test_ogm_ge_coefficient_and_noise_on_a_fixed_batch(data):
    torch.manual_seed(0)
    method = OGMGE(data.spec, head="linear", alpha=0.7, **KW).train()
    batch = _batch(data)
    out = method(batch)
    out.losses["task"].backward()
    before = _grads(method)
    method.after_backward(FakeTrainer(5), batch, out)
    # by hand: true-class probabilities of W_m h_m + b / 2
    with torch.no_grad():
        h = method.encode(method.encoders, batch)
        w, b = method.head.weight, method.head.bias
        s = {m: float(_p_true(h[m] @ w[:, i * 8:(i + 1) * 8].T + b / 2, batch.y).sum()) for i, m in enumerate("ab")}
    rho = {"a": s["a"] / s["b"], "b": s["b"] / s["a"]}
    k = {m: 1 - math.tanh(0.7 * rho[m]) if rho[m] > 1 else 1.0 for m in "ab"}
    assert method.last_coefficients == pytest.approx(k)
    assert min(k.values()) < 1.0 and max(k.values()) == 1.0
    gen = torch.Generator().manual_seed(5)
    after = _grads(method)
    n_matrices = 0
    for m in "ab":
        for name, p in method.encoders[m].named_parameters():
            key = f"encoders.{m}.{name}"
            if p.ndim < 2:  # biases are not modulated
                assert torch.equal(after[key], before[key])
                continue
            noise = torch.randn(p.shape, generator=gen) * (before[key].std() + 1e-8)
            assert torch.allclose(after[key], k[m] * before[key] + noise, atol=1e-7)
            n_matrices += 1
    assert n_matrices == 4
    for key in ("head.weight", "head.bias"):
        assert torch.equal(after[key], before[key])


def test_mlb_coefficients_scale_each_encoder_on_a_fixed_batch(data):
    torch.manual_seed(1)
    method = MLB(data.spec, alpha=0.8, beta={"a": 3.0, "b": 2.5}, **KW).train()
    batch = _batch(data)
    out = method(batch)
    assert set(out.losses) == {"task", "task/a", "task/b"}
    sum(out.losses.values()).backward()
    before = _grads(method)
    method.after_backward(FakeTrainer(), batch, out)
    with torch.no_grad():
        h = method.encode(method.encoders, batch)
        s = {m: float(_p_true(method.uni_heads[m](h[m]), batch.y).mean()) for m in "ab"}
    r = {"a": s["b"] / s["a"], "b": s["a"] / s["b"]}
    beta = {"a": 3.0, "b": 2.5}
    k = {m: 1 + (beta[m] - 1) * math.tanh(0.8 * (r[m] - 1)) if r[m] > 1 else 1 + math.tanh(0.8 * (r[m] - 1))
         for m in "ab"}
    assert method.last_coefficients == pytest.approx(k)
    after = _grads(method)
    for key, g in before.items():
        m = key.split(".")[1] if key.startswith("encoders.") else None
        expected = g * k[m] if m else g  # every encoder parameter scaled, heads untouched
        assert torch.allclose(after[key], expected, atol=1e-7), key


def test_agm_coefficient_running_mean_and_gradient_paths(data):
    torch.manual_seed(2)
    method = AGM(data.spec, alpha=1.3, **KW).train()
    batch = _batch(data)
    method.running_loss.copy_(torch.tensor([0.4, 0.8], dtype=torch.float64))
    method.steps.fill_(3)
    out = method(batch)
    # responses: Shapley shares against the encoder output on a zero input; they sum to the prediction
    assert torch.allclose(out.unimodal["a"] + out.unimodal["b"], out.prediction.detach(), atol=1e-5)
    ce = {m: float(F.cross_entropy(out.unimodal[m], batch.y)) for m in "ab"}
    k = {"a": math.exp(1.3 * min(math.exp(0.8 - 0.4) - math.exp(ce["b"] - ce["a"]), 10)),
         "b": math.exp(1.3 * min(math.exp(0.4 - 0.8) - math.exp(ce["a"] - ce["b"]), 10))}
    assert method.last_coefficients == pytest.approx(k, rel=1e-5)
    assert method.running_loss.tolist() == pytest.approx([(3 * 0.4 + ce["a"]) / 4, (3 * 0.8 + ce["b"]) / 4], rel=1e-5)
    assert int(method.steps) == 4
    out.losses["task"].backward()
    actual = _grads(method)
    # reference: the same responses without modulation, each path's gradient scaled by hand
    method.zero_grad()
    method.eval()  # no further coefficient update; dropout is 0 so the values are the same
    h = method.encode(method.encoders, batch)
    r = method.responses(h, method.zero_input_features(batch))
    pred = r["a"] + r["b"]
    g = torch.autograd.grad(F.cross_entropy(pred, batch.y), pred, retain_graph=True)[0]
    params = [p for _, p in method.named_parameters()]
    expected = [torch.zeros_like(p) for p in params]
    for m in "ab":
        parts = torch.autograd.grad((r[m] * g).sum(), params, retain_graph=True, allow_unused=True)
        for i, part in enumerate(parts):
            if part is not None:
                expected[i] += k[m] * part
    for (name, _), e in zip(method.named_parameters(), expected, strict=True):
        assert torch.allclose(actual[name], e, atol=1e-6), name


def test_mmpareto_combines_independent_gradients_on_a_fixed_batch(data):
    torch.manual_seed(3)
    method = MMPareto(data.spec, gamma=1.5, **KW).train()
    batch = _batch(data)
    out = method(batch)
    sum(out.losses.values()).backward()
    before = _grads(method)
    method.after_backward(FakeTrainer(), batch, out)
    after = _grads(method)
    # reference: each loss's encoder gradient computed on its own
    method.zero_grad()
    out2 = method(batch)
    for m in "ab":
        params = method.encoder_parameters(m)
        g_mm = torch.autograd.grad(out2.losses["task"], params, retain_graph=True)
        g_u = torch.autograd.grad(out2.losses[f"task/{m}"], params, retain_graph=True)
        expected, weights = pareto_combine(list(g_mm), list(g_u), gamma=1.5)
        assert method.last_weights[m] == pytest.approx(weights, rel=1e-4)
        for (name, _), e in zip(method.encoders[m].named_parameters(), expected, strict=True):
            assert torch.allclose(after[f"encoders.{m}.{name}"], e, atol=1e-6)
    for key in before:
        if not key.startswith("encoders."):
            assert torch.equal(after[key], before[key])  # heads keep their ordinary gradient
    assert any(w[2] < 0 for w in method.last_weights.values())  # this batch has a conflict


@pytest.mark.parametrize("cls", [OGMGE, AGM, MLB, MMPareto])
def test_regression_coefficients_are_finite(cls):
    data = regression_dataset(n=80).standardize()
    torch.manual_seed(0)
    method = cls(data.spec, **KW).train()
    batch = data.batch(torch.arange(32))
    out = method(batch)
    sum(out.losses.values()).backward()
    if cls is not AGM:
        method.after_backward(FakeTrainer(), batch, out)
    got = method.last_weights if cls is MMPareto else method.last_coefficients
    assert set(got) == {"a", "b"} and all(np.isfinite(v).all() for v in got.values())


# ---------------------------------------------------------------- errors
def test_balancing_configuration_errors(data):
    with pytest.raises(ConfigError, match="head must be one of mlp, linear, got 'tfn'"):
        OGMGE(data.spec, head="tfn")
    with pytest.raises(ConfigError, match=r"needs at least 2, got \['a'\]"):
        MLB(data.spec, modalities=["a"])
    with pytest.raises(ConfigError, match=r"mlb: beta must give one value per modality .* missing \['b'\]"):
        MLB(data.spec, beta={"a": 2.0})
    with pytest.raises(ConfigError, match="unimodal_weight must be > 0"):
        MLB(data.spec, unimodal_weight=0.0)


def test_shapley_methods_limit_modalities_with_a_nonlinear_head():
    from infofusion.data.dataset import MultimodalDataset

    rng = np.random.default_rng(0)
    ds = MultimodalDataset({f"m{i}": rng.normal(size=(30, 2)) for i in range(9)}, rng.integers(0, 2, 30))
    with pytest.raises(ConfigError, match="at most 8 modalities, got 9"):
        AGM(ds.spec)
    assert len(OGMGE(ds.spec, head="linear").modality_names) == 9  # closed form: no limit
    assert len(MLB(ds.spec).modality_names) == 9  # no responses needed


# ---------------------------------------------------------------- DDP
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """The four methods trained in this process and in two gloo processes (one launch)."""
    from tests.methods.balancing_job import METHODS, run

    tmp = tmp_path_factory.mktemp("balancing_ddp")
    ddp = tmp / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = json.loads(json.dumps({name: run(name, 2) for name in METHODS}))  # this process
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(_free_port()), str(JOB), str(ddp)],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=300,
    )
    return single, json.loads(ddp.read_text())


@pytest.mark.parametrize("name", ["ogm_ge", "agm", "mlb", "mmpareto"])
def test_ddp_replicas_match_single_process(ddp_runs, name):
    """Coefficients from all-reduced statistics, noise from the shared stream: two processes
    apply, step by step, the modulation one process applies to the whole batch."""
    single, ddp = ddp_runs
    a, b = single[name], ddp[name]
    np.testing.assert_allclose(b["history_loss"], a["history_loss"], rtol=1e-4)
    np.testing.assert_allclose(b["weights"], a["weights"], rtol=1e-4, atol=1e-6)
    assert len(a["trace"]) == len(b["trace"]) == 6  # two epochs of three steps
    for step_a, step_b in zip(a["trace"], b["trace"], strict=True):
        for m in step_a:
            np.testing.assert_allclose(step_b[m], step_a[m], rtol=1e-4, atol=1e-7)
    flat = [v for step in a["trace"] for c in step.values() for v in np.atleast_1d(c)[:1]]
    assert not np.allclose(flat, 1.0)  # the modulation really acted
