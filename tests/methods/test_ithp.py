"""ITHP: shapes, masking, a hand-computed loss, the reference equations for K = 2, the
automatic order, the information plane and training against the prime-only model."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, Estimate
from infofusion.methods.ithp import ITHP
from infofusion.methods.ithp_order import choose_order


def seq_dataset(
    n: int = 24, t: int = 5, seed: int = 0, task: str = "regression"
) -> MultimodalDataset:
    """Prime 't' (sequence), aligned detector 'a' (sequence, same lengths), vector detector 'v',
    and an unaligned sequence detector 'u' (other length); padding filled with junk."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, t + 1, n)
    u_len = rng.integers(1, 4, n)
    pad = np.arange(t)[None, :] >= lengths[:, None]
    tx = rng.normal(size=(n, t, 6))
    ax = rng.normal(size=(n, t, 3))
    ux = rng.normal(size=(n, 3, 2))
    tx[pad], ax[pad] = 40.0, -30.0
    ux[np.arange(3)[None, :] >= u_len[:, None]] = 25.0
    y = rng.normal(size=n) if task == "regression" else rng.integers(0, 3, n)
    splits = {
        "train": np.arange(n // 2),
        "valid": np.arange(n // 2, 3 * n // 4),
        "test": np.arange(3 * n // 4, n),
    }
    return MultimodalDataset(
        {"t": tx, "a": ax, "v": rng.normal(size=(n, 4)), "u": ux},
        y,
        task=task,
        lengths={"t": lengths, "a": lengths, "u": u_len},
        splits=splits,
    )


class CorrGaussianMI:
    """Closed-form MI of jointly Gaussian variables from canonical correlations (test estimator)."""

    def estimate(self, x, y):
        x = np.asarray(x, float).reshape(len(x), -1)
        y = np.asarray(y, float).reshape(len(y), -1)
        c = np.cov(np.hstack([x, y]).T) + 1e-9 * np.eye(x.shape[1] + y.shape[1])
        dx = x.shape[1]
        _, ld = np.linalg.slogdet(c)
        _, lx = np.linalg.slogdet(c[:dx, :dx])
        _, ly = np.linalg.slogdet(c[dx:, dx:])
        return Estimate(value=0.5 * (lx + ly - ld))


# ------------------------------------------------------------------------------- shapes / masks
@pytest.mark.parametrize("readout", ["prime", "fused"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_shapes_terms_and_diagnostics(readout, task):
    torch.manual_seed(0)
    data = seq_dataset(task=task)
    model = ITHP.for_dataset(
        data, order=["t", "a", "v", "u"], readout=readout, hidden=16, inter_dim=8
    )
    out = model(data.batch(torch.arange(7)))
    assert out.prediction.shape == ((7,) if task == "regression" else (7, 3))
    assert model.aligned == [True, False, False]
    assert set(out.losses) == {"task"} | {f"{k}/link{i}" for k in ("kl", "recon") for i in range(3)}
    for name, value in out.diagnostics.items():
        assert value.shape == (7,), name
        assert torch.all(value >= 0)
    model.total_loss(out).backward()
    assert model.link_enc[2][0].weight.grad.abs().sum() > 0  # the last link is trained


def test_padding_never_leaks():
    torch.manual_seed(0)
    data = seq_dataset()
    model = ITHP.for_dataset(
        data, order=["t", "a", "v", "u"], readout="fused", prime_encoder="transformer", hidden=16
    ).eval()
    batch = data.batch(torch.arange(12))
    out1 = model(batch)
    for name in ("t", "a", "u"):
        mask = batch.mask(name).unsqueeze(-1)
        batch.x[name] = torch.where(mask, batch.x[name], torch.randn_like(batch.x[name]) * 1e4)
    out2 = model(batch)
    torch.testing.assert_close(out1.prediction, out2.prediction)
    batch.x["a"] = torch.where(batch.mask("a").unsqueeze(-1), batch.x["a"], float("inf"))
    batch.x["t"] = torch.where(batch.mask("t").unsqueeze(-1), batch.x["t"], float("nan"))
    out3 = model(batch)
    torch.testing.assert_close(out1.prediction, out3.prediction)
    torch.testing.assert_close(out1.losses["recon/link0"], out3.losses["recon/link0"])
    for k in out1.losses:
        torch.testing.assert_close(out1.losses[k], out2.losses[k])
    for k in out1.diagnostics:
        torch.testing.assert_close(out1.diagnostics[k], out2.diagnostics[k])


@pytest.mark.parametrize("scale", ["minmax", "minmax_global"])
def test_target_scaling_fitted_on_valid_training_positions_only(scale):
    data = seq_dataset()
    idx = data.indices("train")
    a, ln = data.modality("a")[idx].clone(), data.lengths("a")[idx]
    valid = torch.arange(a.shape[1])[None, :] < ln[:, None]
    data.modality("a")[~data.mask("a")] = 1e6  # junk in the stored padding is never read
    model = ITHP.for_dataset(data, order=["t", "a", "v"], scale=scale)
    rows = a[valid]
    lo, hi = rows.min(dim=0).values, rows.max(dim=0).values
    if scale == "minmax_global":  # the reference: one min and one max over every feature
        lo, hi = lo.min().expand(3), hi.max().expand(3)
    torch.testing.assert_close(model.scalers["a"].shift, lo)
    torch.testing.assert_close(model.scalers["a"].scale, hi - lo)
    v = data.modality("v")[idx]
    vlo = v.min(dim=0).values if scale == "minmax" else v.min().expand(4)
    torch.testing.assert_close(model.scalers["v"].shift, vlo)


def test_evaluation_is_deterministic_unless_sampling_is_asked():
    data = seq_dataset()
    batch = data.batch(torch.arange(8))
    model = ITHP.for_dataset(data, order=["t", "a", "v"], hidden=16).eval()
    torch.testing.assert_close(model(batch).prediction, model(batch).prediction)
    sampled = ITHP.for_dataset(data, order=["t", "a", "v"], hidden=16, sample_eval=True).eval()
    assert not torch.allclose(sampled(batch).prediction, sampled(batch).prediction)


def test_reference_readout_depends_on_the_prime_only():
    data = seq_dataset()
    model = ITHP.for_dataset(data, order=["t", "a", "v"], hidden=16).eval()
    batch = data.batch(torch.arange(8))
    assert not model.multimodal
    base = model(batch)
    batch.x["v"] = batch.x["v"] + 5.0
    changed = model(batch)
    torch.testing.assert_close(base.prediction, changed.prediction)
    assert not torch.allclose(base.losses["recon/link1"], changed.losses["recon/link1"])


# ------------------------------------------------------------------------------- the loss
def test_loss_equals_hand_computation_on_a_tiny_example():
    """K = 1, identity prime, one-unit layers with set weights; every number worked by hand."""
    data = MultimodalDataset(
        {"p": np.array([[1.0], [2.0]]), "d": np.array([[0.0], [4.0]])},
        np.array([1.0, -1.0]),
        task="regression",
    )
    model = ITHP(
        data.spec,
        prime_encoder="identity",
        latent_dims=[1],
        inter_dim=1,
        drop_prob=0.0,
        readout_dropout=0.0,
        dropout=0.0,
    )
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        enc, dec = model.link_enc[0], model.link_dec[0]
        enc[0].weight.fill_(1.0)  # relu(x)
        enc[3].weight.copy_(torch.tensor([[1.0], [0.0]]))  # mu = relu(x)
        enc[3].bias.copy_(torch.tensor([0.0, -1.0]))  # logvar = -1
        dec[0].weight.fill_(1.0)
        dec[3].weight.fill_(1.0)
        dec[3].bias.fill_(-1.5)  # recon = sigmoid(mu - 1.5)
        model.norm.weight.fill_(1.0)
        model.norm.bias.fill_(0.5)  # a one-unit LayerNorm outputs its bias
        model.pooler[0].weight.fill_(1.0)
        model.head[1].weight.fill_(2.0)
        model.head[1].bias.fill_(0.1)
    model.fit_target_scaling(data)  # detector scaled to [0, 1]: targets 0 and 1
    model.eval()
    with torch.no_grad():
        out = model(data.batch(torch.arange(2)))

    sig = 1.0 / (1.0 + math.exp(0.5))  # sigmoid(-0.5) = 1 - sigmoid(0.5)
    kl = 0.5 * (0.5 * (1.0 + math.exp(-1)) + 0.5 * (4.0 + math.exp(-1)))
    recon = 0.5 * (sig**2 + sig**2)
    pred = 2.0 * math.tanh(0.5) + 0.1
    task = 0.5 * ((pred - 1.0) ** 2 + (pred + 1.0) ** 2)
    assert out.prediction.tolist() == pytest.approx([pred, pred], abs=1e-6)
    assert float(out.losses["kl/link0"]) == pytest.approx(kl, abs=1e-6)
    assert float(out.losses["recon/link0"]) == pytest.approx(recon, abs=1e-6)
    assert float(out.losses["task"]) == pytest.approx(task, abs=1e-6)
    # K = 1: task + (1 / beta) * (KL + beta * MSE)
    assert float(model.total_loss(out)) == pytest.approx(task + kl / 8.0 + recon, abs=1e-6)
    assert out.diagnostics["rate/link0"].tolist() == pytest.approx(
        [0.5 * (1 + math.exp(-1)), 0.5 * (4 + math.exp(-1))], abs=1e-6
    )


def test_k2_matches_the_reference_equations_term_by_term():
    """Two detectors, no padding, sampled latents: every term as the reference code writes it."""
    rng = np.random.default_rng(3)
    n, t = 6, 4
    data = MultimodalDataset(
        {
            "text": rng.normal(size=(n, t, 8)),
            "acoustic": rng.normal(size=(n, t, 5)),
            "visual": 3 * rng.normal(size=(n, t, 4)),
        },
        rng.normal(size=n),
        task="regression",
    )
    model = ITHP(
        data.spec,
        order=["text", "acoustic", "visual"],
        prime_encoder="identity",
        latent_dims=[6, 3],
        inter_dim=7,
        scale="minmax_global",
        pool="first",
        sample_eval=True,
    )
    model.fit_target_scaling(data)  # on the whole batch, as the reference scales per batch
    model.eval()  # no dropout; sample_eval keeps the reference's sampling
    batch = data.batch(torch.arange(n))
    torch.manual_seed(11)
    out = model(batch)

    x, acoustic, visual, y = batch.x["text"], batch.x["acoustic"], batch.x["visual"], batch.y
    beta, gamma, lam = 8.0, 32.0, 0.3
    torch.manual_seed(11)
    with torch.no_grad():
        mu1, logvar1 = model.link_enc[0](x).chunk(2, dim=-1)
        kl0 = torch.mean(-0.5 * torch.mean(1 + logvar1 - mu1.pow(2) - logvar1.exp(), dim=-1))
        b0 = mu1 + torch.randn_like(mu1) * torch.exp(logvar1 / 2)
        acoustic_norm = (acoustic - acoustic.min()) / (acoustic.max() - acoustic.min())
        mse0 = F.mse_loss(model.link_dec[0](b0), acoustic_norm)
        mu2, logvar2 = model.link_enc[1](b0).chunk(2, dim=-1)
        kl1 = torch.mean(-0.5 * torch.mean(1 + logvar2 - mu2.pow(2) - logvar2.exp(), dim=-1))
        b1 = mu2 + torch.randn_like(mu2) * torch.exp(logvar2 / 2)
        visual_norm = (visual - visual.min()) / (visual.max() - visual.min())
        mse1 = F.mse_loss(model.link_dec[1](b1), visual_norm)
        ib = (kl0 + beta * mse0) + lam * (kl1 + gamma * mse1)
        seq = model.norm(model.expand(b1) + x)
        logits = model.head(model.pooler(seq[:, 0])).squeeze(-1)
        loss = F.mse_loss(logits, y) + 2 / (beta + gamma) * ib

    torch.testing.assert_close(out.losses["kl/link0"], kl0)
    torch.testing.assert_close(out.losses["recon/link0"], mse0)
    torch.testing.assert_close(out.losses["kl/link1"], kl1)
    torch.testing.assert_close(out.losses["recon/link1"], mse1)
    torch.testing.assert_close(out.prediction, logits)
    torch.testing.assert_close(model.total_loss(out), loss)


# ------------------------------------------------------------------------------- the reference
# Sizes and values of the authors' configuration (ITHP.py, deberta_ITHP.py, train.py), written
# out here independently of the package: hidden width 256, latents 128 then 64, dropout 0.3 in
# the links and after each decoder's sigmoid, 0.5 after the readout LayerNorm, 0.1 before the
# classifier, beta 8, gamma 32, lambda 0.3, loss task + 2 / (beta + gamma) * IB.
REF = {"inter": 256, "b0": 128, "b1": 64, "drop": 0.3, "dropout": 0.5, "head_dropout": 0.1,
       "beta": 8.0, "gamma": 32.0, "lam": 0.3}
D_TEXT, D_ACOUSTIC, D_VISUAL = 6, 5, 4


def reference_dataset(n: int = 3, t: int = 4, seed: int = 5) -> MultimodalDataset:
    rng = np.random.default_rng(seed)
    return MultimodalDataset(  # listed out of order: the preset must find the roles by name
        {
            "vision": 3 * rng.normal(size=(n, t, D_VISUAL)) + 1,
            "text": rng.normal(size=(n, t, D_TEXT)),
            "audio": rng.normal(size=(n, t, D_ACOUSTIC)),
        },
        rng.normal(size=n),
        task="regression",
    )


def reference_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights of every reference layer, shapes written out by hand (out, in)."""
    shapes = {
        "encoder1.0": (REF["inter"], D_TEXT),
        "encoder1.3": (2 * REF["b0"], REF["inter"]),
        "MLP1.0": (REF["inter"], REF["b0"]),
        "MLP1.3": (D_ACOUSTIC, REF["inter"]),
        "encoder2.0": (REF["inter"], REF["b0"]),
        "encoder2.3": (2 * REF["b1"], REF["inter"]),
        "MLP2.0": (REF["inter"], REF["b1"]),
        "MLP2.3": (D_VISUAL, REF["inter"]),
        "expand": (D_TEXT, REF["b1"]),
        "pooler": (D_TEXT, D_TEXT),
        "classifier": (1, D_TEXT),
    }
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, (out, inp) in shapes.items():
        w[f"{name}.weight"] = torch.randn(out, inp, generator=g) / math.sqrt(inp)
        w[f"{name}.bias"] = 0.3 * torch.randn(out, generator=g)
    w["LayerNorm.weight"] = 1 + 0.2 * torch.randn(D_TEXT, generator=g)
    w["LayerNorm.bias"] = 0.2 * torch.randn(D_TEXT, generator=g)
    return w


def reference_forward(w, text, acoustic, visual, y, train: bool):
    """The reference model's forward and loss with functional ops on the weights ``w``."""

    def linear(name, h):
        return F.linear(h, w[f"{name}.weight"], w[f"{name}.bias"])

    def drop(h, p):
        return F.dropout(h, p, training=train)

    def encoder(name, h):
        return linear(f"{name}.3", drop(F.relu(linear(f"{name}.0", h)), REF["drop"]))

    def decoder(name, h):
        out = torch.sigmoid(linear(f"{name}.3", drop(F.relu(linear(f"{name}.0", h)), REF["drop"])))
        return drop(out, REF["drop"])

    def kl(mu, logvar):
        return torch.mean(-0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1))

    def sample(mu, logvar):  # evaluation uses the mean here (the reference samples)
        return mu + torch.randn_like(mu) * torch.exp(logvar / 2) if train else mu

    acoustic_norm = (acoustic - acoustic.min()) / (acoustic.max() - acoustic.min())
    visual_norm = (visual - visual.min()) / (visual.max() - visual.min())
    mu1, logvar1 = encoder("encoder1", text).chunk(2, dim=-1)
    b0 = sample(mu1, logvar1)
    mse0 = F.mse_loss(decoder("MLP1", b0), acoustic_norm)
    mu2, logvar2 = encoder("encoder2", b0).chunk(2, dim=-1)
    b1 = sample(mu2, logvar2)
    mse1 = F.mse_loss(decoder("MLP2", b1), visual_norm)
    kl0, kl1 = kl(mu1, logvar1), kl(mu2, logvar2)
    ib = (kl0 + REF["beta"] * mse0) + REF["lam"] * (kl1 + REF["gamma"] * mse1)
    seq = F.layer_norm(1.0 * linear("expand", b1) + text, (D_TEXT,), w["LayerNorm.weight"],
                       w["LayerNorm.bias"], eps=1e-5)
    seq = drop(seq, REF["dropout"])
    pooled = torch.tanh(linear("pooler", seq[:, 0]))  # BERT pooler: first token
    logits = linear("classifier", drop(pooled, REF["head_dropout"])).view(-1)
    loss = F.mse_loss(logits, y) + 2 / (REF["beta"] + REF["gamma"]) * ib
    terms = {"kl/link0": kl0, "recon/link0": mse0, "kl/link1": kl1, "recon/link1": mse1}
    return logits, terms, loss


def load_reference_weights(model: ITHP, w: dict[str, torch.Tensor]) -> None:
    """Copy ``w`` into the model; the reference layers must be all of its parameters."""
    where = {"encoder1": "link_enc.0", "MLP1": "link_dec.0", "encoder2": "link_enc.1",
             "MLP2": "link_dec.1", "expand": "expand", "pooler": "pooler.0",
             "classifier": "head.1", "LayerNorm": "norm"}
    state = {}
    for key, value in w.items():
        layer, rest = key.split(".", 1)
        state[f"{where[layer]}.{rest}"] = value
    missing, unexpected = model.load_state_dict(state, strict=False)  # shapes must match
    assert unexpected == []
    assert all(k.startswith("scalers.") for k in missing), missing  # buffers, not parameters


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_reference_preset_matches_a_hand_built_reference_forward(train):
    """Every value and layer of the reference: the preset's forward, loss terms and objective
    equal the reference's written with functional ops on copied weights. In training the same
    seed gives the same dropout masks and latent noise only if every dropout sits where the
    reference has it, with the reference's rate."""
    data = reference_dataset()
    model = ITHP(data.spec, preset="reference")
    assert model.order == ["text", "audio", "vision"]
    model.fit_target_scaling(data)  # the batch is the training split: per-batch statistics
    w = reference_weights()
    load_reference_weights(model, w)
    model.train(train)
    batch = data.batch(torch.arange(3))
    torch.manual_seed(7)
    out = model(batch)
    torch.manual_seed(7)
    x = batch.x
    logits, terms, loss = reference_forward(w, x["text"], x["audio"], x["vision"], batch.y, train)
    torch.testing.assert_close(out.prediction, logits)
    for name, value in terms.items():
        torch.testing.assert_close(out.losses[name], value)
    torch.testing.assert_close(model.total_loss(out), loss)
    if train:  # a different draw would not match: the comparison above is not vacuous
        torch.manual_seed(8)
        assert not torch.allclose(model(batch).prediction, logits)


def test_reference_initialisation():
    """N(0, 0.02) weights and zero biases on every Linear of the reference's layers, unit
    LayerNorm (the reference's Hugging Face initialisation), in the preset and by default; the
    stand-in for the pretrained backbone keeps PyTorch's initialisation."""
    from scipy import stats

    data = reference_dataset()
    for model in (ITHP(data.spec, preset="reference"), ITHP(data.spec, hidden=32)):
        parts = (model.link_enc, model.link_dec, model.expand, model.pooler, model.head)
        linears = [m for p in parts for m in p.modules() if isinstance(m, torch.nn.Linear)]
        assert len(linears) == 11
        weights = torch.cat([m.weight.detach().flatten() for m in linears]).double().numpy()
        assert all(float(m.bias.detach().abs().max()) == 0.0 for m in linears)
        assert stats.kstest(weights, "norm", args=(0.0, 0.02)).pvalue > 1e-3
        assert np.std(weights) == pytest.approx(0.02, rel=0.02)
        norm = model.norm.state_dict()
        assert float(norm["weight"].min()) == float(norm["weight"].max()) == 1.0
        assert float(norm["bias"].abs().max()) == 0.0
    torch_init = ITHP(data.spec, init="torch")
    weights = torch_init.link_enc[0][0].weight.detach().flatten().numpy()
    assert stats.kstest(weights, "norm", args=(0.0, 0.02)).pvalue < 1e-6
    prime = model.prime_net.net[0]  # the default model's per-token MLP: PyTorch's uniform
    bound = 1 / math.sqrt(prime.in_features)
    assert float(prime.weight.detach().abs().max()) <= bound and float(prime.weight.detach().std()) > 0.1
    assert float(prime.bias.detach().abs().max()) > 0


def test_defaults_are_the_reference_but_for_the_declared_departures():
    """The defaults equal the reference's values, written out here, except the options whose
    departure (with its reason) the docs' list of differences names."""
    import re
    from pathlib import Path

    spec = reference_dataset().spec
    default = ITHP(spec, order=["text", "audio", "vision"]).resolved_options()
    preset = ITHP(spec, preset="reference").resolved_options()
    reference = {
        "order": ["text", "audio", "vision"], "beta": 8.0, "gamma": 32.0, "lambda": 0.3,
        "drop_prob": 0.3, "decoder_dropout": True, "readout_dropout": 0.5, "dropout": 0.1,
        "inter_dim": 256, "latent_dims": [128, 64], "scale": "minmax_global", "pool": "first",
        "init": "reference", "prime_encoder": "identity", "d_model": D_TEXT, "shift": 1.0,
        "kl_weight": 1.0, "readout": "prime", "ib_scale": None, "recon_weights": None,
        "link_weights": None,
    }
    assert {k: preset[k] for k in reference} == reference
    departures = {k for k in reference if default[k] != reference[k]}
    assert departures == {"prime_encoder", "d_model", "pool", "decoder_dropout"}
    assert (default["prime_encoder"], default["pool"], default["decoder_dropout"]) == (
        "mlp", "mean", False)
    assert default["sample_eval"] is False and preset["sample_eval"] is False
    for cfg in (default, preset):
        assert ITHP(spec, **{k: cfg[k] for k in ("order", "beta", "gamma")}).loss_weights() == (
            pytest.approx({"task": 1.0, "kl/link0": 2 / 40, "recon/link0": 8 * 2 / 40,
                           "kl/link1": 0.3 * 2 / 40, "recon/link1": 0.3 * 32 * 2 / 40}))
    docs = Path(__file__).parents[2] / "docs" / "methods" / "ithp.md"
    section = docs.read_text().split("## Differences from the reference")[1].split("\n## ")[0]
    for option in departures | {"sample_eval"}:
        assert re.search(rf"`{option}", section), f"{option} departs without a stated reason"


def test_reference_preset_order_and_overrides():
    spec = reference_dataset().spec
    assert ITHP(spec, preset="reference", pool="mean").pool == "mean"  # explicit options win
    assert ITHP(spec, preset="reference", order="audio>text").order == ["audio", "text"]
    assert ITHP(spec, preset="reference", drop_prob=0.1).link_enc[0][2].p == 0.1
    other = seq_dataset().spec
    with pytest.raises(ConfigError, match="no modality is named 'text'.*give order="):
        ITHP(other, preset="reference")
    assert ITHP(other, preset="reference", order=["t", "a", "v"]).pool == "first"
    with pytest.raises(ConfigError, match="preset='mine'"):
        ITHP(spec, preset="mine")


def test_every_average_runs_over_valid_tokens_only():
    """A padded batch gives what each sample gives alone without padding: the KL and the
    per-token reconstruction are averaged over the valid tokens of the batch, the pooled
    readout and the per-sample diagnostics over each sample's own."""
    torch.manual_seed(0)
    data = seq_dataset()
    data.modality("t")[~data.mask("t")] = 0.0  # zero padding: an average over it would show
    data.modality("a")[~data.mask("a")] = 0.0
    # PyTorch's initialisation: larger weights than the reference's, so the KL is of order one
    model = ITHP.for_dataset(
        data, order=["t", "a", "v"], hidden=16, inter_dim=16, init="torch"
    ).eval()
    idx = torch.arange(10)
    batch = data.batch(idx)
    lengths = batch.lengths["t"]
    assert lengths.min() < lengths.max()  # padding present, of different amounts
    with torch.no_grad():
        out = model(batch)
        alone = []
        for i, ln in enumerate(lengths.tolist()):
            single = Batch(
                x={"t": batch.x["t"][i : i + 1, :ln], "a": batch.x["a"][i : i + 1, :ln],
                   "v": batch.x["v"][i : i + 1]},
                y=batch.y[i : i + 1], index=idx[i : i + 1],
            )
            alone.append(model(single))
    w = lengths.double() / lengths.sum()
    for key in ("kl/link0", "recon/link0", "kl/link1"):  # per token: weighted by lengths
        per = torch.stack([o.losses[key] for o in alone]).double()
        assert float(per.min()) > 1e-3  # not vanishing: padding would show
        assert float(out.losses[key]) == pytest.approx(float((w * per).sum()), rel=1e-5)
    per = torch.stack([o.losses["recon/link1"] for o in alone])  # one vector per sample
    assert float(out.losses["recon/link1"]) == pytest.approx(float(per.mean()), rel=1e-5)
    torch.testing.assert_close(out.prediction, torch.cat([o.prediction for o in alone]))
    for key, value in out.diagnostics.items():
        torch.testing.assert_close(value, torch.cat([o.diagnostics[key] for o in alone]))


def test_weights_generalise_to_k_links():
    data = MultimodalDataset(
        {m: np.eye(4)[[0, 1, 2, 3] * 2] for m in "pabc"}, np.arange(8.0), task="regression"
    )
    model = ITHP(data.spec, **{"lambda": 0.5})
    w = model.loss_weights()
    c = 3 / (8 + 32 + 32)
    assert w["kl/link0"] == pytest.approx(c) and w["recon/link0"] == pytest.approx(8 * c)
    assert w["kl/link1"] == pytest.approx(0.5 * c) and w["recon/link1"] == pytest.approx(
        0.5 * 32 * c
    )
    assert w["kl/link2"] == pytest.approx(0.25 * c) and w["recon/link2"] == pytest.approx(
        0.25 * 32 * c
    )
    two = ITHP(data.spec, order="p>a>b").loss_weights()
    assert two["recon/link1"] == pytest.approx(2 / 40 * 0.3 * 32)
    custom = ITHP(data.spec, order="p,a", recon_weights=[2.0], ib_scale=1.0).loss_weights()
    assert custom == {"task": 1.0, "kl/link0": 1.0, "recon/link0": 2.0}


def test_options_are_checked():
    spec = seq_dataset().spec
    with pytest.raises(ConfigError, match="unknown modality"):
        ITHP(spec, order=["t", "nope"])
    with pytest.raises(ConfigError, match="twice"):
        ITHP(spec, order=["t", "t"])
    with pytest.raises(ConfigError, match="readout"):
        ITHP(spec, readout="late")
    with pytest.raises(ConfigError, match="unknown options"):
        ITHP(spec, betta=3)
    with pytest.raises(ConfigError, match="at least one detector"):
        ITHP(spec, modalities=["t"])
    assert ITHP(spec, prime="v").order == ["v", "t", "a", "u"]


# ------------------------------------------------------------------------------- automatic order
def order_dataset(n: int = 600, seed: int = 0) -> MultimodalDataset:
    """'b' carries the label cleanly, 'c' noisily, 'a' not at all; 'a' copies 'b' (shared with prime)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    b = (2 * y - 1)[:, None] + 0.3 * rng.normal(size=(n, 3))
    c = (2 * y - 1)[:, None] + 2.0 * rng.normal(size=(n, 2))
    a = rng.normal(size=(n, 3))
    a[:, 0] = b[:, 1] - (2 * y - 1) + 0.1 * rng.normal(size=n)  # b's label-free noise
    return MultimodalDataset(
        {"a": a, "b": b, "c": c}, y, splits={"train": np.arange(400), "test": np.arange(400, n)}
    )


def test_automatic_order_ranks_by_information():
    data = order_dataset()
    report = choose_order(data, estimator=CorrGaussianMI())
    assert report.prime == "b" and report.detectors == ["c", "a"]
    assert report.mi_target["b"] > report.mi_target["c"] > report.mi_target["a"]
    by_prime = choose_order(data, estimator=CorrGaussianMI(), criterion="prime")
    assert by_prime.detectors == ["a", "c"]
    assert choose_order(data, estimator=CorrGaussianMI(), prime="c").prime == "c"
    assert "b (I(X;Y)=" in str(report)


def test_automatic_order_rebuilds_the_model_at_fit_start():
    data = order_dataset()
    model = ITHP(data.spec, order="auto", estimator=CorrGaussianMI(), hidden=16)
    assert model.order == ["a", "b", "c"]  # provisional until data is seen
    model.on_fit_start(SimpleNamespace(data=data))
    assert model.order == ["b", "c", "a"]
    info = model.run_info()  # recorded in each run's extra
    assert info["modality_order"] == ["b", "c", "a"]
    assert (info["order_report"]["prime"], info["order_report"]["detectors"]) == ("b", ["c", "a"])
    assert model.prime_net.net[0].in_features == 3 and model.link_dec[0][3].out_features == 2
    assert model(data.batch(torch.arange(5))).prediction.shape == (5, 2)


@pytest.mark.parametrize("name", ["gaussian", "ksg"])
def test_automatic_order_with_registered_estimator(name):
    pytest.importorskip("infofusion.measures.mi")
    from infofusion.registry import list_components

    if name not in list_components("estimator"):
        pytest.skip(f"{name} estimator not registered")
    report = choose_order(order_dataset(), estimator=name)
    assert report.prime == "b"
    assert report.estimator == name


def test_unknown_estimator_is_a_clear_error():
    with pytest.raises(ConfigError):
        choose_order(order_dataset(), estimator=42)


# ------------------------------------------------------------------------------- information plane
def test_information_plane_points_and_plot(tmp_path):
    from infofusion.report.information_plane import plot_information_plane

    data = seq_dataset()
    model = ITHP.for_dataset(data, order=["t", "a", "v"], hidden=16)
    trainer = SimpleNamespace(data=data)
    model.train()
    for epoch in range(3):
        model.on_epoch_end(epoch, trainer)
    assert model.training  # the hook restores the mode
    assert len(model.info_plane) == 6 and {p["link"] for p in model.info_plane} == {0, 1}
    p0 = model.info_plane[0]
    model.eval()
    out = model(data.batch(data.indices("valid")))
    assert p0["rate"] == pytest.approx(float(out.diagnostics["rate/link0"].mean()), rel=1e-5)
    assert p0["recon"] == pytest.approx(float(out.diagnostics["recon/link0"].mean()), rel=1e-5)
    # every run record carries the points (the comparison report draws them)
    assert model.run_info()["bottleneck_plane"] == model.info_plane
    files = plot_information_plane(model.info_plane, tmp_path / "plane")
    assert [f.suffix for f in files] == [".png", ".svg"]
    assert files[0].read_bytes()[:4] == b"\x89PNG" and b"<svg" in files[1].read_bytes()
    with pytest.raises(ValueError):
        plot_information_plane([], tmp_path / "empty")


# ------------------------------------------------------------------------------- training
def detector_task(
    n: int = 500, d: int = 30, n_train: int = 100, seed: int = 0, prime_noise: float = 1.0
) -> MultimodalDataset:
    """y = [s > 0]; the prime holds s weakly, rotated among distractors; the detector holds s."""
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n)
    prime = rng.normal(size=(n, d))
    prime[:, 0] = s + prime_noise * rng.normal(size=n)
    prime = prime @ np.linalg.qr(rng.normal(size=(d, d)))[0]
    detector = np.stack(
        [s + 0.1 * rng.normal(size=n), np.tanh(s) + 0.1 * rng.normal(size=n)], axis=1
    )
    idx = rng.permutation(n)
    splits = {
        "train": idx[:n_train],
        "valid": idx[n_train : n_train + 100],
        "test": idx[n_train + 100 :],
    }
    return MultimodalDataset({"m1": prime, "m2": detector}, (s > 0).astype(np.int64), splits=splits)


def test_training_with_the_detector_beats_the_prime_only_model():
    from infofusion.registry import create

    training = pytest.importorskip("infofusion.training")
    data = detector_task(n=400)
    cfg = training.TrainConfig(
        epochs=15, batch_size=50, lr=3e-3, patience=5, seed=0, progress=False
    )
    uni = training.fit(
        create("method", "unimodal", spec=data.spec, modality="m1", hidden=32, embed_dim=32),
        data,
        cfg,
    )
    ithp = ITHP(
        data.spec,
        order=["m1", "m2"],
        readout="fused",
        hidden=32,
        embed_dim=16,
        inter_dim=32,
        latent_dims=[8],
    )
    res = training.fit(ithp, data, cfg)
    assert res.metrics["test/accuracy"] > uni.metrics["test/accuracy"] + 0.1
    model = res.method
    epochs = len(res.history)
    assert [p["epoch"] for p in model.info_plane] == list(range(epochs))
    assert {"loss/task", "loss/kl/link0", "loss/recon/link0"} <= set(res.history[0])
    assert bool(model.scalers["m2"].fitted)


@pytest.mark.slow
def test_automatic_order_beats_the_prime_only_model():
    """With the reference readout only the prime is read at inference: the automatic order makes
    the informative modality the prime, where the dataset order would not."""
    training = pytest.importorskip("infofusion.training")
    uni, auto = [], []
    for seed in range(3):
        data = detector_task(d=40, n=600, n_train=120, prime_noise=0.3, seed=seed)
        cfg = training.TrainConfig(
            epochs=60, batch_size=32, lr=1e-3, patience=15, seed=seed, progress=False
        )
        uni.append(training.fit("unimodal", data, cfg, modality="m1").metrics["test/accuracy"])
        res = training.fit(ITHP(data.spec, order="auto", estimator=CorrGaussianMI()), data, cfg)
        assert res.method.prime == "m2" and res.method.order_report.detectors == ["m1"]
        auto.append(res.metrics["test/accuracy"])
    assert np.mean(auto) > np.mean(uni) + 0.1
