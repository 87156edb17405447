"""BTW as a method of the engine: weight updates, no label leakage, any number of modalities,
per-sample outputs and plots, resume after SIGKILL."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from infofusion.data import load_dataset
from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
from infofusion.methods.btw import BTW
from infofusion.registry import create
from infofusion.training import TrainConfig, Trainer, fit
from tests.helpers import regression_dataset, xor_dataset

ROOT = Path(__file__).resolve().parents[2]
JOB = Path(__file__).with_name("btw_resume_job.py")
SMALL = dict(hidden=16, embed_dim=8, crossfit=2)


def _cfg(**kw: Any) -> TrainConfig:
    base = dict(epochs=3, batch_size=64, lr=3e-3, patience=0, seed=0, progress=False)
    return TrainConfig(**{**base, **kw})


def _relabel(data: MultimodalDataset, splits: tuple[str, ...], how: str, seed: int = 1) -> MultimodalDataset:
    """The same dataset with the labels of ``splits`` permuted (``how="permute"``) or redrawn."""
    rng = np.random.default_rng(seed)
    y = data.target.numpy().copy()
    for s in splits:
        idx = data.indices(s).numpy()
        y[idx] = y[rng.permutation(idx)] if how == "permute" else rng.integers(0, data.n_classes, len(idx))
    return MultimodalDataset(
        {m: data.modality(m).numpy() for m in data.names}, y, splits={k: v.numpy() for k, v in data.splits.items()},
        n_classes=data.n_classes, name=data.name, sample_meta=data.sample_meta,
    )


# ------------------------------------------------------------------------------ options
def test_bad_options_are_typed_errors_naming_the_option():
    spec = xor_dataset(n=40).spec
    for options, match in [
        ({"weighting": "mi"}, "weighting"), ({"kl_norm": "zscore"}, "kl_norm"), ({"direction": "up"}, "direction"),
        ({"update_every": 0}, "update_every"), ({"source": "branches", "crossfit": 3}, "crossfit"),
        ({"fusion": "transformer", "embed_dim": 6, "heads": 4}, "divisible"), ({"modalities": ["a"]}, "at least 2"),
        ({"estimator": "ksgg"}, "ksgg"), ({"estimator_options": {"kk": 3}}, "kk"),
    ]:
        with pytest.raises(ConfigError, match=match):
            BTW(spec, **options)


def test_variants_are_registered_with_their_weighting():
    spec = xor_dataset(n=40).spec
    assert create("method", "btw-kl", spec=spec).weighting == "kl"
    uniform = create("method", "btw-uniform", spec=spec)
    assert uniform.weighting == "uniform" and uniform.stages() == [] and len(uniform.teachers) == 0
    stages = [s.name for s in create("method", "btw", spec=spec, crossfit=2).stages()]
    assert stages == ["unimodal:a:0", "unimodal:a:1", "unimodal:b:0", "unimodal:b:1", "fusion"]


# ------------------------------------------------------------------------------ worked example
class _FakeTrainer:
    """Just what ``BTW.update_weights`` reads: the data's splits and ``predict(split)``."""

    def __init__(self, outputs: dict[str, dict[str, Any]]) -> None:
        self.outputs = outputs
        splits = {s: torch.as_tensor(o["index"]) for s, o in outputs.items()}
        self.data = SimpleNamespace(splits=splits, sample_meta={}, names=("a", "b"))
        self.device, self.config = torch.device("cpu"), SimpleNamespace(seed=0)

    def predict(self, split: str) -> dict[str, Any]:
        return self.outputs[split]


def test_update_on_a_worked_example():
    """Two modalities, two classes, KL only (no MI), min-max per split, s = 0.5.

    Fused logits are 0 (p = (.5, .5)); a unimodal logit pair (t, -t) gives
    p = (sigma(2t), 1 - sigma(2t)) and KL(p || (.5, .5)) = ln 2 - H(p).
    """
    spec = xor_dataset(n=40).spec
    method = BTW(spec, weighting="kl", source="branches", hidden=16, embed_dim=8)

    def kl_half(t: float) -> float:
        p = 1 / (1 + math.exp(-2 * t))
        return math.log(2) + p * math.log(p) + (1 - p) * math.log(1 - p)

    def out(index, ta, tb, y):
        z = np.zeros((len(index), 2))
        uni = {m: np.stack([np.array(t), -np.array(t)], axis=1) for m, t in (("a", ta), ("b", tb))}
        return {"prediction": z, "unimodal": uni, "diagnostics": {}, "y": np.array(y), "index": np.array(index)}

    outputs = {
        "train": out([0, 1, 2], [0.0, 1.0, 2.0], [2.0, 0.5, 0.0], [0, 1, 0]),
        "valid": out([3, 4], [1.0, 0.0], [0.0, 1.0], [1, 0]),
        "test": out([5, 6], [0.5, 0.5], [0.0, 3.0], [0, 0]),
    }
    trainer = _FakeTrainer(outputs)
    method.register_sample_state("weights", torch.ones(7, 2))
    method.register_sample_state("kl", torch.zeros(7, 2))
    method.update_weights(trainer, epoch=0)
    w = method.sample_state("weights").double().numpy()
    f = 1e-5

    def expected(ta, tb):
        kl = np.array([[kl_half(a), kl_half(b)] for a, b in zip(ta, tb, strict=True)]).clip(min=f)
        span = kl.max(0) - kl.min(0)
        mm = np.where(span > 0, (kl - kl.min(0)) / np.where(span > 0, span, 1), f)
        share = np.where(mm.sum(1, keepdims=True) > 0, mm / np.maximum(mm.sum(1, keepdims=True), 1e-300), 0.5).clip(min=f)
        return 0.5 * (share / share.sum(1, keepdims=True) * 2) + 0.5

    np.testing.assert_allclose(w[[0, 1, 2]], expected([0.0, 1.0, 2.0], [2.0, 0.5, 0.0]), rtol=1e-6)
    np.testing.assert_allclose(w[[3, 4]], expected([1.0, 0.0], [0.0, 1.0]), rtol=1e-6)
    np.testing.assert_allclose(w[[5, 6]], expected([0.5, 0.5], [0.0, 3.0]), rtol=1e-6)
    # sample 0: a agrees with the fused prediction (KL 0), b diverges most -> b gets the weight
    assert w[0, 1] > 1.4 > 0.6 > w[0, 0]
    # the validation loss (ln 2: fused p = .5) was the first seen: an improvement, s 0.5 -> 0.45
    row = method.update_log.rows[0]
    assert row["valid_loss"] == pytest.approx(math.log(2)) and row["smoothing"] == 0.5
    assert method.update_log.smoothing == pytest.approx(0.45)


# ------------------------------------------------------------------------------ leakage
@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    data = load_dataset("synthetic:mixed3_partial", n=300, dim=6)
    res = fit("btw", data, _cfg(), pretrain_epochs=1, update_every=1, **SMALL)
    return data, res


class _LabelVariance(BTW):
    """A leaking variant: the instance score grows with the fused model's error on the sample
    (the reference's ``|y - y_hat|`` variance), computed on every split."""

    def instance_kl(self, out: dict[str, Any]) -> torch.Tensor:
        wrong = torch.as_tensor(out["prediction"].argmax(1) != out["y"], dtype=torch.float64)
        return super().instance_kl(out) * (1.0 + wrong[:, None] * torch.arange(1, len(self.modality_names) + 1))


class _EagerSmoothing(BTW):
    """A leaking variant: the validation loss moves the smoothing factor *before* it is used."""

    def update_weights(self, trainer: Any, epoch: int) -> None:
        loss = self._valid_loss(trainer.predict("valid"))
        self.update_log.smoothing = min(max(loss / 3.0, 0.0), 1.0)
        super().update_weights(trainer, epoch)


def _update_under(method: BTW, data: MultimodalDataset, variants: dict[str, MultimodalDataset]) -> dict[str, Any]:
    """Weights and next smoothing factor after one update, for each labelling of ``data``."""
    weights0 = method.sample_state("weights").clone()
    log0 = method.update_log.get_extra_state()
    results = {}
    for name, d in variants.items():
        method.sample_state("weights").copy_(weights0)
        method.update_log.rows, method.update_log.smoothing, method.update_log.best = list(log0["rows"]), 0.5, 0.65
        method.update_weights(Trainer(method, d.standardize("train"), _cfg()), epoch=0)
        results[name] = (method.sample_state("weights").clone(), method.update_log.smoothing)
    method.sample_state("weights").copy_(weights0)
    method.update_log.set_extra_state(log0)
    return results


@pytest.mark.parametrize("cls", [BTW, _LabelVariance, _EagerSmoothing])
def test_no_weight_is_computed_from_a_validation_or_test_label(trained, cls):
    """One update with the validation and test labels redrawn at random: every weight is
    bit-identical; the next smoothing factor may follow the validation labels but never the test
    labels. The two leaking variants above fail the same check."""
    data, res = trained
    method = cls(res.data.spec, pretrain_epochs=1, update_every=1, **SMALL)
    method.on_fit_start(Trainer(method, res.data, _cfg()))  # registers the state the weights load into
    method.load_state_dict(res.method.state_dict())
    method.on_stage_start(SimpleNamespace(name="fusion"), None)
    runs = _update_under(method, data, {
        "orig": data,
        "test": _relabel(data, ("test",), "redraw"),
        "valid+test": _relabel(data, ("valid", "test"), "redraw", seed=2),
    })
    same_weights = all(torch.equal(runs["orig"][0], runs[k][0]) for k in ("test", "valid+test"))
    same_factor_under_test_labels = runs["orig"][1] == runs["test"][1]
    if cls is BTW:
        assert same_weights and same_factor_under_test_labels
    else:
        assert not same_weights  # the check catches the leak


def test_permuting_test_labels_leaves_test_predictions_bit_identical(trained):
    data, res = trained
    res2 = fit("btw", _relabel(data, ("test",), "permute"), _cfg(), pretrain_epochs=1, update_every=1, **SMALL)
    assert np.array_equal(res.test_outputs["prediction"], res2.test_outputs["prediction"])
    assert torch.equal(res.method.sample_state("weights"), res2.method.sample_state("weights"))
    assert res.metrics["valid/accuracy"] == res2.metrics["valid/accuracy"]
    assert res.metrics["test/accuracy"] != res2.metrics["test/accuracy"]  # the labels did change


# ------------------------------------------------------------------------------ state, outputs, plots
def test_weights_are_per_sample_state_with_rows_summing_to_m(trained):
    data, res = trained
    w = res.method.sample_state("weights")
    assert w.shape == (len(data), 3)
    np.testing.assert_allclose(w.sum(dim=1).numpy(), 3.0, rtol=1e-5)
    assert len(torch.unique(w[:, 2])) > 50  # per sample, not per modality
    rows = res.method.update_log.rows
    assert [r["epoch"] for r in rows] == [0, 1, 2] and res.method.run_info()["btw_updates"] == 3
    assert "_sample_states._extra_state" in res.method.state_dict()
    diag = res.test_outputs["diagnostics"]
    assert set(diag) == {f"{k}/{m}" for k in ("weight", "kl") for m in data.names}
    idx = res.test_outputs["index"]
    np.testing.assert_array_equal(diag["weight/m3"], w[idx, 2].numpy())


def test_per_sample_outputs_and_plots_carry_the_ground_truth(tmp_path):
    from infofusion.api import train
    from infofusion.report.per_sample import load_per_sample

    data = load_dataset("synthetic:mixed3_partial", n=300, dim=6)
    rec = train("btw", data, config=_cfg(epochs=2), method_options=dict(pretrain_epochs=1, update_every=1, **SMALL),
                plots_dir=tmp_path / "plots", per_sample_dir=tmp_path / "ps")[0]
    ps = load_per_sample(rec.extra["per_sample"])
    assert ps["truth"]["corrupted"].shape == (len(ps["index"]), 3)
    assert {"weight/m1", "weight/m2", "weight/m3"} <= set(ps["diagnostics"])
    names = sorted(Path(p).name for p in rec.extra["plots"])
    assert any(n.endswith("_weights.png") for n in names) and any(n.endswith("_corrupted.png") for n in names)
    assert all(Path(p).stat().st_size > 1000 for p in rec.extra["plots"])
    assert rec.extra["btw_updates"] == 2 and rec.extra["btw_update_seconds"] > 0


@pytest.mark.parametrize("task", ["synthetic:synergy3", "uci_mfeat"])
def test_any_number_of_modalities(task):
    data = load_dataset(task) if task == "uci_mfeat" else load_dataset(task, n=300, dim=6)
    if task == "uci_mfeat":
        data = data.subset(np.arange(0, len(data), 4))  # 500 samples, 6 views
    res = fit("btw", data, _cfg(epochs=1), pretrain_epochs=1, update_every=1, **{**SMALL, "crossfit": 1})
    m = len(data.names)
    assert m == (6 if task == "uci_mfeat" else 3)
    w = res.method.sample_state("weights")
    assert w.shape == (len(data), m) and not torch.equal(w, torch.ones_like(w))
    np.testing.assert_allclose(w.sum(dim=1).numpy(), m, rtol=1e-5)
    assert len(res.method.update_log.rows[0]["mi"]["train"]) == m


def test_regression_branches_and_transformer_backbone():
    data = regression_dataset(n=200)
    res = fit("btw", data, _cfg(epochs=2), source="branches", variance="spread", update_every=1, hidden=16, embed_dim=8)
    assert res.method.stages() == [] and "loss/branch/a" in res.history[0]
    assert np.isfinite(res.metrics["test/MAE"]) and len(res.method.update_log.rows) == 2
    seq = xor_dataset(n=120, sequence=True)
    res = fit("btw", seq, _cfg(epochs=1), fusion="transformer", pretrain_epochs=1, update_every=1, crossfit=1, hidden=16, embed_dim=8, heads=2)
    assert res.method.sample_state("weights").shape == (120, 2)


def test_crossfitting_gives_training_samples_held_out_predictions(trained):
    data, res = trained
    method = res.method
    fold = method.sample_state("fold")
    train = data.indices("train")
    assert set(fold[train].tolist()) == {0, 1} and (fold[data.indices("test")] == -1).all()
    assert abs(int((fold[train] == 0).sum()) - int((fold[train] == 1).sum())) <= 1
    batch = res.data.batch(torch.cat([train[:6], data.indices("test")[:4]]))
    with torch.no_grad():
        got = method.teacher_prediction("m1", batch)
        own = [method.teachers["m1"][k](batch.x["m1"], None) for k in range(2)]
    for i in range(6):  # a training sample: the model that never saw it
        np.testing.assert_allclose(got[i].numpy(), torch.log_softmax(own[int(fold[train[i]])][i], -1).numpy(), rtol=1e-5)
    mean = torch.log((torch.softmax(own[0], -1) + torch.softmax(own[1], -1)) / 2)
    np.testing.assert_allclose(got[6:].numpy(), mean[6:].numpy(), rtol=1e-5)  # other samples: the mean
    # model k is trained without fold k: a batch of fold-0 samples gives model 0 no loss, no gradient
    method.train()
    method.zero_grad(set_to_none=True)
    method.teachers["m1"][0].requires_grad_(True)  # frozen after its stage
    method.phase = "unimodal:m1:0"
    out = method(res.data.batch(train[fold[train] == 0][:16]))
    out.losses["task"].backward()
    assert float(out.losses["task"].detach()) == 0.0
    grads = [p.grad for p in method.teachers["m1"][0].parameters()]
    assert all(g is not None and not g.any() for g in grads), [None if g is None else float(g.abs().sum()) for g in grads]
    method.zero_grad(set_to_none=True)
    method.teachers["m1"][0].requires_grad_(False)
    method.phase = "fusion"
    method.eval()


# ------------------------------------------------------------------------------ resume
def _run_job(out: Path, *args: str) -> dict[str, Any]:
    subprocess.run([sys.executable, str(JOB), str(out), *args], cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    return json.loads(out.read_text())


@pytest.mark.slow
def test_resume_after_sigkill_restores_the_weights(tmp_path):
    """Killed during the fusion stage (after weight updates) and resumed: the per-sample
    weights, the update log, the losses and the metrics equal an uninterrupted run's."""
    ref = _run_job(tmp_path / "ref.json")
    ckpt, out = tmp_path / "ckpt", tmp_path / "resumed.json"
    proc = subprocess.Popen([sys.executable, str(JOB), str(out), "--ckpt", str(ckpt), "--sleep", "0.5"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last, fusion_stage, deadline = ckpt / "last.pt", 6, time.time() + 300
    while time.time() < deadline:
        if last.exists():
            try:
                state = torch.load(last, weights_only=True)
            except (EOFError, RuntimeError):  # pragma: no cover - replaced while reading
                continue
            if state["stage"] == fusion_stage and state["epoch"] >= 2:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = torch.load(last, weights_only=True)
    assert killed["stage"] == fusion_stage and 2 <= killed["epoch"] < 7, "the job must be killed mid-fusion"
    assert not out.exists()
    resumed = _run_job(out, "--ckpt", str(ckpt), "--resume")
    assert resumed["weights"] == ref["weights"]
    assert resumed["rows"] == ref["rows"] and len(ref["rows"]) == 8
    assert resumed["history_loss"] == ref["history_loss"]
    assert resumed["metrics"] == ref["metrics"] and resumed["params_sum"] == ref["params_sum"]
    assert resumed["smoothing"] == ref["smoothing"]
