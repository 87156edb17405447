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
from infofusion.interfaces import Estimate
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
    assert model.config["order_chosen"] == ["b", "c", "a"]
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
