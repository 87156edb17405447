"""QMF, I2M2, MMIB and LMF: each mechanism against a worked example, a closed form or an
independent computation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.fusion import (
    energy_confidence,
    gaussian_kl_standard,
    history_ranking_loss,
    low_rank_fusion,
    product_of_experts,
)
from infofusion.methods.i2m2 import I2M2
from infofusion.methods.lmf import LowRankFusion
from infofusion.methods.mmib import MMIB
from infofusion.methods.qmf import QMF
from infofusion.training import TrainConfig, fit
from tests.helpers import regression_dataset, xor_dataset


def _three_modalities(n=48, seed=0):
    from infofusion.data.dataset import MultimodalDataset

    gen = torch.Generator().manual_seed(seed)
    x = {m: torch.randn(n, d, generator=gen).numpy() for m, d in (("a", 3), ("b", 2), ("c", 4))}
    y = (torch.arange(n) % 3).numpy()
    return MultimodalDataset(x, y, name="three")


# ------------------------------------------------------------------ QMF
def test_qmf_confidence_worked_example():
    """logits (0, ln 3): logsumexp = ln 4, so conf = ln(4) / T."""
    logits = torch.tensor([[0.0, math.log(3.0)], [1.0, 1.0]])
    torch.testing.assert_close(energy_confidence(logits, 10.0), torch.tensor([math.log(4.0), 1 + math.log(2.0)]) / 10)


def test_qmf_ranking_loss_worked_example():
    """Pairs (0, 1), (1, 2), (2, 0); history h = (0, .8, .5), confidence c = (.1, 2, .3):
    (0, 1): h_0 < h_1, so c_1 may exceed c_0 by at most .8: max(0, 1.9 - .8) = 1.1;
    (1, 2): h_1 > h_2: max(0, (2 - .3) - .3) = 1.4;  (2, 0): max(0, (.3 - .1) - .5) = 0."""
    conf, hist = torch.tensor([0.1, 2.0, 0.3]), torch.tensor([0.0, 0.8, 0.5])
    assert history_ranking_loss(conf, hist).item() == pytest.approx((1.1 + 1.4 + 0.0) / 3, abs=1e-6)


def test_qmf_ranking_loss_matches_the_reference_construction():
    """The released code's construction: MarginRankingLoss(c_i, c_{i+1} + |dh| / t, -t) with
    t = sign(h_i - h_{i+1}) (0 replaced by 1 in the division)."""
    gen = torch.Generator().manual_seed(2)
    conf = torch.randn(11, generator=gen)
    hist = torch.rand(11, generator=gen).round(decimals=1)  # ties included
    target = torch.sign(hist - torch.roll(hist, -1))
    safe = torch.where(target == 0, torch.ones_like(target), target)
    second = torch.roll(conf, -1) + (hist - torch.roll(hist, -1)).abs() / safe
    ref = nn.MarginRankingLoss(margin=0.0)(conf, second, -target)
    assert history_ranking_loss(conf, hist).item() == pytest.approx(ref.item(), abs=1e-6)


def test_qmf_fuses_by_confidence_and_keeps_history():
    data = xor_dataset(n=120).standardize()
    torch.manual_seed(0)
    method = QMF(data.spec, hidden=8, embed_dim=4)
    batch = data.batch(torch.arange(10))
    method.eval()
    with torch.no_grad():
        out = method(batch)
        h = method.encode(method.encoders, batch)
        logits = {m: method.heads[m](h[m]) for m in ("a", "b")}
    conf = {m: torch.logsumexp(logits[m], -1) / 10 for m in logits}
    torch.testing.assert_close(out.prediction, conf["a"][:, None] * logits["a"] + conf["b"][:, None] * logits["b"])
    torch.testing.assert_close(out.diagnostics["conf/b"], conf["b"])
    assert "rank/a" not in method.train()(batch).losses  # no history outside the trainer

    result = fit(method, data, TrainConfig(epochs=1, device="cpu", progress=False))
    history = method.sample_state("history")  # the selected weights' state: after epoch 0
    train = data.indices("train")
    others = torch.ones(len(data), dtype=torch.bool)
    others[train] = False
    assert torch.all(history[others] == 0)
    method.eval()
    train_batch = result.data.batch(train)
    with torch.no_grad():
        out = method(train_batch)
    for j, m in enumerate(("a", "b")):
        ce = nn.functional.cross_entropy(out.unimodal[m], train_batch.y, reduction="none")
        torch.testing.assert_close(history[train, j], ce, rtol=1e-4, atol=1e-5)
    norm = method.normalized_history(train)
    assert norm.min().item() == pytest.approx(0.0) and norm.max().item() == pytest.approx(1.0)
    assert set(method.train()(batch).losses) >= {"rank/a", "rank/b", "uni/a", "task"}


def test_qmf_and_i2m2_refuse_regression():
    spec = regression_dataset(n=32).spec
    with pytest.raises(ConfigError, match="qmf: defined for classification only.*free energy"):
        QMF(spec)
    with pytest.raises(ConfigError, match="i2m2: defined for classification only.*class distributions"):
        I2M2(spec)


# ------------------------------------------------------------------ I2M2
def test_i2m2_logits_are_the_sum_of_expert_log_probabilities():
    data = _three_modalities()
    torch.manual_seed(0)
    method = I2M2(data.spec, hidden=8, embed_dim=4).eval()
    batch = data.batch(torch.arange(12))
    with torch.no_grad():
        out = method(batch)
        uni, joint = method.experts(batch)
    expected = sum(torch.log_softmax(lg, -1) for lg in [*uni.values(), joint])
    torch.testing.assert_close(out.prediction, expected)
    # softmax of the combined logits is the normalised product of the experts' distributions
    prod = torch.softmax(joint, -1) * math.prod(torch.softmax(lg, -1) for lg in uni.values())
    torch.testing.assert_close(torch.softmax(out.prediction, -1), prod / prod.sum(-1, keepdim=True))
    assert set(out.unimodal) == {"a", "b", "c"} and list(out.losses) == ["task"]
    torch.testing.assert_close(product_of_experts([joint]), torch.log_softmax(joint, -1))


# ------------------------------------------------------------------ MMIB
def test_gaussian_kl_closed_form():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    std = torch.tensor([[1.0, math.e], [1.0, 1.0]])
    # 0.5 * (1 + 1 - 0 - 1) + 0.5 * (0 + e^2 - 2 - 1) ; and 0 for the standard normal itself
    torch.testing.assert_close(gaussian_kl_standard(mu, std), torch.tensor([0.5 + 0.5 * (math.e**2 - 3), 0.0]))
    gen = torch.Generator().manual_seed(0)
    mu, std = torch.randn(5, 3, generator=gen), torch.rand(5, 3, generator=gen) + 0.1
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mu, std), torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl_standard(mu, std), ref)


@pytest.mark.parametrize("bottleneck", ["both", "unimodal", "fused"])
def test_mmib_kl_terms_and_deterministic_evaluation(bottleneck):
    data = xor_dataset(n=64).standardize()
    torch.manual_seed(0)
    method = MMIB(data.spec, bottleneck=bottleneck, hidden=8, embed_dim=4, dropout=0.0)
    batch = data.batch(torch.arange(16))
    out = method.train()(batch)
    expected = {"task"} | ({"uni/a", "uni/b", "kl/a", "kl/b"} if bottleneck != "fused" else set())
    expected |= {"kl/fused"} if bottleneck != "unimodal" else set()
    assert set(out.losses) == expected
    with torch.no_grad():
        h = method.encode(method.encoders, batch)
        if bottleneck != "fused":
            _, mu, std = method.uni_ib["a"](h["a"], sample=False)
            torch.testing.assert_close(out.losses["kl/a"], gaussian_kl_standard(mu, std).mean())
            torch.testing.assert_close(out.diagnostics["kl/a"], gaussian_kl_standard(mu, std))
    assert method.loss_weights()["kl/fused"] == 1e-3
    method.eval()
    with torch.no_grad():
        torch.testing.assert_close(method(batch).prediction, method(batch).prediction)  # latents = means
    if bottleneck == "unimodal":
        assert not hasattr(method, "fused_ib")


def test_mmib_regression_and_options():
    data = regression_dataset(n=64).standardize()
    out = MMIB(data.spec, bottleneck="both", hidden=8, embed_dim=4)(data.batch(torch.arange(8)))
    assert out.prediction.shape == (8,) and out.unimodal["a"].shape == (8,)
    with pytest.raises(ConfigError, match="bottleneck must be one of fused, unimodal, both, got 'late'"):
        MMIB(data.spec, bottleneck="late")
    with pytest.raises(ConfigError, match="beta must be a finite number >= 0"):
        MMIB(data.spec, beta=-1.0)


# ------------------------------------------------------------------ LMF
def test_low_rank_fusion_equals_the_full_tensor_layer():
    """sum_r w_r prod_m ([z_m; 1] W_m^(r)) + b == W . vec([z_1; 1] x [z_2; 1] x [z_3; 1]) + b with the
    full weight W[i, j, k, :] = sum_r w_r W_1^(r)[i] W_2^(r)[j] W_3^(r)[k] (TFN's outer product)."""
    gen = torch.Generator().manual_seed(0)
    dims, rank, out, batch = (2, 3, 1), 3, 4, 5
    z = [torch.randn(batch, d, generator=gen) for d in dims]
    factors = [torch.randn(rank, d + 1, out, generator=gen) for d in dims]
    w, b = torch.randn(rank, generator=gen), torch.randn(out, generator=gen)
    full = torch.einsum("r,rih,rjh,rkh->ijkh", w, *factors)  # (3, 4, 2, out)
    ones = [torch.cat([zi, torch.ones(batch, 1)], dim=1) for zi in z]
    # TFN's fused vector, built as methods/tfn.py does: outer products flattened in order
    fused = torch.einsum("bp,bq->bpq", ones[0], ones[1]).flatten(1)
    fused = torch.einsum("bp,bq->bpq", fused, ones[2]).flatten(1)  # (B, 3*4*2)
    expected = fused @ full.reshape(-1, out) + b
    torch.testing.assert_close(low_rank_fusion(z, factors, w, b), expected, rtol=1e-5, atol=1e-5)


def test_lmf_method_and_any_number_of_modalities():
    data = _three_modalities()
    torch.manual_seed(0)
    method = LowRankFusion(data.spec, rank=2, hidden=6, embed_dim=4).eval()
    batch = data.batch(torch.arange(7))
    with torch.no_grad():
        z = method.encode(method.encoders, batch)
        fused = low_rank_fusion([z[m] for m in ("a", "b", "c")], list(method.factors), method.rank_weights, method.fusion_bias)
        torch.testing.assert_close(method(batch).prediction, method.head(fused))
    assert method(batch).prediction.shape == (7, 3)
    assert sum(p.numel() for p in method.factors) == 3 * 2 * 5 * 6  # linear in M, not (d+1)^M
    with pytest.raises(ConfigError, match="rank must be an integer >= 1, got 0"):
        LowRankFusion(data.spec, rank=0)


def test_bench_leaves_classification_only_methods_out_of_regression_data(tmp_path, monkeypatch):
    import infofusion.api as api

    monkeypatch.setattr(api, "_as_dataset", lambda spec, options=None: (regression_dataset(n=80), spec))
    plan = api.bench_plan(["joint", "qmf", "i2m2", "mcr"], ["reg"])
    assert [run[1] for run in plan] == ["joint", "mcr"]
    records, table = api.bench(methods=["joint", "qmf"], datasets=["reg"], seeds=1, out_dir=tmp_path,
                               config=TrainConfig(epochs=1, progress=False), progress=False)
    assert [r.config["label"] for r in records] == ["joint"]
    assert "- `qmf` not run on `reg`: defined for classification only" in table
