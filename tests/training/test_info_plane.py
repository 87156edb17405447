"""The information-plane callback: known values on a toy, layer names, schedule, no test split."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.measures.information_plane import Compression, compress, pca_compress, plane_point
from infofusion.methods.base import FusionMethod
from infofusion.training import TrainConfig, fit
from infofusion.training.callbacks import Callback
from infofusion.training.info_plane import InfoPlane, InfoPlaneConfig, points_from_history

C = 4  # classes of the toy


class _OneHot(nn.Module):
    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, C).float()  # (B, C)


class _Zeros(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 5)  # (B, 5), a constant layer


class _Dict(nn.Module):
    def forward(self, x: torch.Tensor) -> dict:
        return {"x": x}


class Toy(FusionMethod):
    """A linear classifier with three taps: the label one-hot, a constant, a dict output."""

    name = "toy"

    def __init__(self, spec: TaskSpec) -> None:
        super().__init__(spec)
        self.label_onehot = _OneHot()
        self.constant = _Zeros()
        self.as_dict = _Dict()
        self.head = nn.Linear(spec.modality("a").dim, C)

    def forward(self, batch: Batch) -> MethodOutput:
        self.label_onehot(batch.y)
        self.constant(batch.x["a"])
        self.as_dict(batch.x["a"])
        pred = self.head(batch.x["a"])  # (B, C)
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)})


def toy(spec: TaskSpec) -> Toy:
    torch.manual_seed(0)  # the instance is built outside fit(), which seeds only what it builds
    return Toy(spec)


def toy_data(n: int = 800, seed: int = 0, permute_test: bool = False) -> MultimodalDataset:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    a = np.eye(C)[y] + 0.8 * rng.standard_normal((n, C))
    b = rng.standard_normal((n, 3))
    idx = rng.permutation(n)
    splits = {"train": idx[: n // 2], "valid": idx[n // 2 : 3 * n // 4], "test": idx[3 * n // 4 :]}
    if permute_test:
        test = splits["test"]
        y = y.copy()
        y[test] = y[rng.permutation(test)]
    return MultimodalDataset({"a": a, "b": b}, y, splits=splits, name="toy")


CFG = TrainConfig(epochs=3, batch_size=64, patience=0, progress=False)


def run(data: MultimodalDataset, layers, samples: int = 150, **options):
    cb = InfoPlane(layers, samples=samples, **options)
    res = fit(toy(data.spec), data, CFG, callbacks=[cb])
    return cb, res, points_from_history(res.history)


def test_label_layer_gives_the_label_entropy_and_a_constant_layer_zero():
    data = toy_data(n=1200)
    cb, _, points = run(data, "label_onehot,constant", samples=300, every=10)
    y = data.target[cb.index].numpy()
    p = np.bincount(y, minlength=C) / len(y)
    h_bits = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    label = [q for q in points if q["layer"] == "label_onehot"]
    const = [q for q in points if q["layer"] == "constant"]
    assert len(label) == len(const) == 2  # epoch 0 and the last epoch (2)
    for q in label:
        assert q["I_TY"] == pytest.approx(h_bits, abs=0.1)
        assert q["I_TY_low"] <= q["I_TY"] <= q["I_TY_high"]
        assert q["dims_T"] == C - 1  # centred one-hot has rank C - 1
    for q in const:
        assert (q["I_TX"], q["I_TY"], q["dims_T"]) == (0.0, 0.0, 0)
    assert cb.split == "valid" and len(cb.index) == 300
    assert set(cb.index.tolist()) <= set(data.indices("valid").tolist())


def test_wrong_layer_name_is_a_config_error_naming_close_matches():
    data = toy_data(n=200)
    with pytest.raises(ConfigError, match=r"unknown layer 'label_onehto'.*close matches: label_onehot"):
        run(data, "label_onehto")
    with pytest.raises(ConfigError, match="declares no default"):
        run(data, "default")
    with pytest.raises(ConfigError, match="'as_dict' returns dict, not a tensor"):
        run(data, "as_dict")  # refused by the dry run, before any training


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"compress": "pca:x"}, "must be an integer"),
        ({"compress": "svd:3"}, "compression must be one of"),
        ({"every": 0}, "'every' must be an integer >= 1"),
        ({"samples": 5}, "'samples' must be an integer >= 20"),
        ({"estimator": "dsmi"}, "not mutual information"),
        ({"estimator_params": {"kk": 3}}, "unknown parameter"),
    ],
)
def test_bad_options_are_config_errors(bad, match):
    with pytest.raises(ConfigError, match=match):
        InfoPlaneConfig.of("head", **bad)


def test_one_point_per_scheduled_epoch_per_layer():
    data = toy_data(n=200)
    cfg = TrainConfig(epochs=6, batch_size=64, patience=0, progress=False)
    res = fit(toy(data.spec), data, cfg, callbacks=[InfoPlane(["head", "label_onehot"], every=2, samples=40)])
    points = points_from_history(res.history)
    got = sorted((q["layer"], q["epoch"]) for q in points)
    assert got == sorted((layer, e) for layer in ("head", "label_onehot") for e in (0, 2, 4, 5))


def test_never_uses_the_test_split_and_leaves_training_unchanged():
    base = toy_data()
    permuted = toy_data(permute_test=True)
    assert not torch.equal(base.target, permuted.target)  # the test labels differ
    _, res_a, pts_a = run(base, "head,label_onehot")
    _, res_b, pts_b = run(permuted, "head,label_onehot")
    assert pts_a == pts_b and len(pts_a) == 2 * CFG.epochs
    # the analysis runs under its own random state: training is the same without it
    plain = fit(toy(base.spec), base, CFG)
    assert [r["loss"] for r in plain.history] == [r["loss"] for r in res_a.history]


def test_pca_matches_scikit_learn_up_to_sign_and_drops_constant_columns():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6))
    ours = pca_compress(np.c_[a, np.full(300, 3.0)], 3)
    ref = PCA(3, svd_solver="full").fit_transform(a)
    np.testing.assert_allclose(np.abs(ours), np.abs(ref), atol=1e-8)
    assert pca_compress(np.ones((50, 4)), 3).shape == (50, 0)
    assert Compression.parse("ae:2") == Compression("ae", 2) and str(Compression.parse("none")) == "none"


def test_autoencoder_code_keeps_a_clean_signal():
    """A 1-d signal embedded in 6 noisy columns: the 1-d AE code keeps most of I(code; s)."""
    rng = np.random.default_rng(2)
    s = rng.standard_normal(600)
    a = np.tanh(s[:, None] * rng.standard_normal((1, 6))) + 0.05 * rng.standard_normal((600, 6))
    code = compress(a, "ae:1")
    assert code.shape == (600, 1)
    from infofusion.measures.information_plane import ae_compress

    np.testing.assert_array_equal(ae_compress(a[:100], 1, max_steps=20), ae_compress(a[:100], 1, max_steps=20))
    out = plane_point(code, s[:, None], s, estimator="ksg")
    assert out["I_TY"] > 2.0  # bits: the 1-d code keeps most of the signal of the 6 columns
    assert compress(np.ones((50, 3)), "ae:2").shape == (50, 0)


def test_api_train_records_points_and_draws_the_plane(tmp_path, monkeypatch):
    import infofusion.api as api
    from infofusion.report.information_plane import layer_plane_figure, read_info_plane

    monkeypatch.setattr(api, "_as_dataset", lambda spec, options=None: (toy_data(n=200), spec))
    out = tmp_path / "r.jsonl"
    recs = api.train("joint", "toy", config=CFG, method_options={"hidden": 16, "embed_dim": 8}, out=out,
                     plots_dir=tmp_path / "plots", info_plane={"layers": ["head.1", "encoders.a"], "samples": 40})
    plane = recs[0].extra["info_plane"]
    assert plane["split"] == "valid" and plane["n"] == 40 and plane["compress"] == "pca:8"
    assert len(plane["points"]) == 2 * CFG.epochs
    files = recs[0].extra["plots"]
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["jsonl", "png", "svg"]
    png = next(f for f in files if f.endswith(".png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    jsonl = next(f for f in files if f.endswith(".jsonl"))
    from_file = read_info_plane(jsonl)
    from_records = read_info_plane(out)
    assert [p["I_TX"] for p in from_file] == [p["I_TX"] for p in from_records] == [p["I_TX"] for p in plane["points"]]
    fig = layer_plane_figure(from_records)
    assert len(fig.axes[0].collections) >= 2  # one scatter per layer (plus interval bars)
    with pytest.raises(ValueError, match="no information-plane points"):
        layer_plane_figure([{"layer": "x", "epoch": 0, "I_TX": math.nan, "I_TY": 1.0}])


def test_ithp_exposes_its_bottlenecks_and_keeps_its_own_plane():
    from tests.helpers import xor_dataset

    data = xor_dataset(n=200)
    cb = InfoPlane("default", samples=30)
    cfg = TrainConfig(epochs=2, batch_size=64, patience=0, progress=False)
    res = fit("ithp", data, cfg, callbacks=[cb], track_info_plane=True, inter_dim=32, hidden=32)
    assert cb.layers == ["bottleneck.0"]
    points = points_from_history(res.history)
    assert [(p["layer"], p["epoch"]) for p in points] == [("bottleneck.0", 0), ("bottleneck.0", 1)]
    assert all(p["dims_T"] == 8 for p in points)  # 128 latent dims, PCA to 8
    assert len(res.method.info_plane) == 2  # ITHP's rate/reconstruction points are still recorded


def test_cli_info_plane_prints_the_trajectory_and_lists_layers(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import infofusion.api as api
    from infofusion.cli.main import app

    monkeypatch.setattr(api, "_as_dataset", lambda spec, options=None: (toy_data(n=200), spec))
    res = CliRunner().invoke(app, ["train", "-m", "joint", "-d", "toy", "--info-plane", "list", "--set", "hidden=16"])
    assert res.exit_code == 0, res.output
    assert "encoders.a" in res.output.split() and "head.1" in res.output.split()
    out = tmp_path / "r.jsonl"
    res = CliRunner().invoke(app, ["train", "-m", "joint", "-d", "toy", "--epochs", "3", "--no-progress",
                                   "--out", str(out), "--set", "hidden=16", "--info-plane", "head.1",
                                   "--info-plane-every", "2", "--info-plane-samples", "40",
                                   "--info-plane-compress", "pca:4", "--plots", str(tmp_path / "p")])
    assert res.exit_code == 0, res.output
    assert res.output.count("I(T;X)") == 2  # epochs 0 and 2
    assert "compression pca:4" in res.output and "_info_plane_layers.png" in res.output
    rec = json.loads(out.read_text().splitlines()[0])
    assert [p["epoch"] for p in rec["extra"]["info_plane"]["points"]] == [0, 2]
    res = CliRunner().invoke(app, ["--debug", "train", "-m", "joint", "-d", "toy", "--epochs", "1", "--no-progress",
                                   "--out", str(out), "--info-plane", "head.9"])
    assert isinstance(res.exception, ConfigError) and "unknown layer 'head.9'" in str(res.exception)
    res = CliRunner().invoke(app, ["--debug", "train", "-m", "joint", "-d", "toy", "--out", str(out), "--info-plane-every", "3"])
    assert isinstance(res.exception, ConfigError) and "need --info-plane" in str(res.exception)


def test_a_refused_estimate_is_recorded_not_raised():
    rng = np.random.default_rng(3)
    t, x = rng.standard_normal((10, 2)), rng.standard_normal((10, 2))
    out = plane_point(t, x, x[:, 0], estimator="ksg", k=5)  # KSG with k=5 needs 12 samples
    assert math.isnan(out["I_TX"]) and "needs at least" in out["error_TX"]
    assert math.isnan(out["I_TY"]) and "error_TY" in out


def test_points_survive_a_resumed_run(tmp_path):
    data = toy_data(n=200)
    whole = fit(toy(data.spec), data, TrainConfig(epochs=4, batch_size=64, patience=0, progress=False),
                callbacks=[InfoPlane("head", samples=40)])
    ckpt = dict(checkpoint_dir=str(tmp_path), batch_size=64, patience=0, progress=False)
    class Killed(Exception):
        pass

    class KillAt2(Callback):
        def on_epoch_end(self, epoch, trainer):
            if epoch == 2:  # after epoch 1's checkpoint, before epoch 2's
                raise Killed

    with pytest.raises(Killed):
        fit(toy(data.spec), data, TrainConfig(epochs=4, **ckpt), callbacks=[InfoPlane("head", samples=40), KillAt2()])
    resumed = fit(toy(data.spec), data, TrainConfig(epochs=4, resume=True, **ckpt),
                  callbacks=[InfoPlane("head", samples=40)])
    # epochs 0 and 1 come from the checkpoint of the killed run, 2 and 3 from the resumed one
    assert points_from_history(resumed.history) == points_from_history(whole.history)
