"""Training engine: selection on validation, hooks, determinism, resume after SIGKILL, DDP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from infofusion.interfaces import StageSpec
from infofusion.methods.joint import JointFusion
from infofusion.training import TrainConfig, fit
from tests.helpers import regression_dataset, xor_dataset
from tests.training.toy_methods import StagedToy, expected_staged_changes

JOB = Path(__file__).with_name("resume_job.py")
ROOT = Path(__file__).resolve().parents[2]


def test_joint_learns_xor_and_selects_on_validation():
    data = xor_dataset(n=800, seed=1)
    res = fit("joint", data, TrainConfig(epochs=30, lr=3e-3, patience=5, progress=False), hidden=32, embed_dim=16)
    assert res.metrics["test/accuracy"] > 0.9
    valid = [h["valid/accuracy"] for h in res.history]
    # the selected epoch is the first epoch with the best validation score (never test)
    assert res.best_epoch == int(np.argmax(valid))
    assert res.metrics["valid/accuracy"] == pytest.approx(max(valid))
    # early stopping: stopped `patience` epochs after the best one (or at the budget)
    assert len(res.history) == min(30, res.best_epoch + 1 + 5)


def test_same_seed_same_result_and_different_seed_differs():
    data = xor_dataset(n=300, seed=2)
    cfg = TrainConfig(epochs=3, progress=False, seed=11)
    r1 = fit("late", data, cfg, hidden=16, embed_dim=8)
    r2 = fit("late", data, cfg, hidden=16, embed_dim=8)
    assert [h["loss"] for h in r1.history] == [h["loss"] for h in r2.history]
    cfg.seed = 12
    r3 = fit("late", data, cfg, hidden=16, embed_dim=8)
    assert [h["loss"] for h in r1.history] != [h["loss"] for h in r3.history]


def test_regression_uses_mae_for_selection():
    data = regression_dataset()
    res = fit("joint", data, TrainConfig(epochs=5, progress=False))
    assert res.selection_metric == "MAE"
    assert "test/MAE" in res.metrics and "test/Corr" in res.metrics


class Staged(JointFusion):
    """Two stages: the first trains the encoders only, the second the head only."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.calls: list[str] = []

    def stages(self):
        return [StageSpec("encoders", max_epochs=2), StageSpec("head", max_epochs=3)]

    def on_fit_start(self, trainer):
        self.calls.append("fit_start")

    def on_stage_start(self, stage, trainer):
        self.calls.append(f"stage:{stage.name}")
        for p in self.encoders.parameters():
            p.requires_grad_(stage.name == "encoders")
        for p in self.head.parameters():
            p.requires_grad_(stage.name == "head")

    def on_epoch_end(self, epoch, trainer):
        self.calls.append(f"epoch:{trainer.stage.name}:{epoch}")

    def loss_weights(self):
        return {"task": 2.0}


def test_hooks_stages_and_freezing():
    data = xor_dataset(n=200)
    method = Staged(data.standardize().spec, hidden=16, embed_dim=8)
    enc_before = [p.detach().clone() for p in method.encoders.parameters()]
    fit(method, data, TrainConfig(epochs=10, progress=False, patience=0))
    assert method.calls == [
        "fit_start", "stage:encoders", "epoch:encoders:0", "epoch:encoders:1",
        "stage:head", "epoch:head:0", "epoch:head:1", "epoch:head:2",
    ]
    assert any(not torch.equal(a, b) for a, b in zip(enc_before, method.encoders.parameters(), strict=False))


def test_loss_weights_scale_the_objective():
    data = xor_dataset(n=200)
    r1 = fit(Staged(data.standardize().spec, hidden=8, embed_dim=4), data, TrainConfig(epochs=1, progress=False, patience=0))
    h = r1.history[0]
    assert h["loss"] == pytest.approx(2.0 * h["loss/task"], rel=1e-5)


def _run_job(out, *args, env=None):
    return subprocess.run([sys.executable, str(JOB), str(out), *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=300)


def test_resume_after_sigkill_gives_same_result(tmp_path):
    """A method with per-sample state (refreshed every epoch, used in the loss) killed mid-run
    and resumed ends bit-identical to an uninterrupted run: weights, losses and the state."""
    ref = tmp_path / "ref.json"
    _run_job(ref, "--epochs", "10")
    ckpt, out = tmp_path / "ckpt", tmp_path / "resumed.json"
    proc = subprocess.Popen([sys.executable, str(JOB), str(out), "--ckpt", str(ckpt), "--sleep", "0.4", "--epochs", "10"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    last = ckpt / "weighted" / "last.pt"
    while time.time() < deadline:
        if last.exists():
            state = torch.load(last, weights_only=True)
            if state["epoch"] >= 2:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = torch.load(last, weights_only=True)
    assert 2 <= killed["epoch"] < 9, "the job must be killed mid-run"
    assert "_sample_states._extra_state" in killed["model"]  # the state is in the checkpoint
    assert not out.exists()
    _run_job(out, "--ckpt", str(ckpt), "--resume", "--epochs", "10")
    a, b = json.loads(ref.read_text())["weighted"], json.loads(out.read_text())["weighted"]
    assert a["history_loss"] == b["history_loss"]
    assert a["metrics"] == b["metrics"]
    assert a["weights_sum"] == b["weights_sum"]
    assert a["state"] == b["state"]
    assert len(set(a["state"])) > 10  # the state is really per sample, not a constant


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """The same toy methods trained in one process and in two gloo processes (one launch each)."""
    tmp = tmp_path_factory.mktemp("ddp")
    args = ["--methods", "joint,weighted,ogm,staged", "--epochs", "4", "--dropout", "0"]
    single, ddp = tmp / "single.json", tmp / "ddp.json"
    _run_job(single, *args)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(_free_port()), str(JOB), str(ddp), *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=300,
    )
    return json.loads(single.read_text()), json.loads(ddp.read_text())


def _assert_same_run(a, b):
    np.testing.assert_allclose(a["history_loss"], b["history_loss"], rtol=1e-4)
    assert b["weights_abs"] == pytest.approx(a["weights_abs"], rel=1e-4)
    np.testing.assert_allclose(b["weights"], a["weights"], rtol=1e-4, atol=1e-6)  # every weight
    assert b["metrics"]["test/accuracy"] == pytest.approx(a["metrics"]["test/accuracy"], abs=0.01)


@pytest.mark.parametrize("name", ["joint", "weighted"])
def test_ddp_two_processes_matches_single_process(ddp_runs, name):
    single, ddp = ddp_runs
    _assert_same_run(single[name], ddp[name])
    if name == "weighted":  # per-sample state: every process computes the same values
        np.testing.assert_allclose(single[name]["state"], ddp[name]["state"], rtol=1e-4)


def test_ddp_gradient_modulation_matches_single_process(ddp_runs):
    """OGM-GE coefficients from global-batch statistics (all_reduce) and noise from the shared
    generator: two processes apply the same modulation as one process on the whole batch."""
    single, ddp = ddp_runs
    _assert_same_run(single["ogm"], ddp["ogm"])
    coeff_single = [c["a"] for c in single["ogm"]["coefficients"]]
    np.testing.assert_allclose(coeff_single, [c["a"] for c in ddp["ogm"]["coefficients"]], rtol=1e-4)
    assert min(coeff_single) < 0.7  # the dominant modality's gradients were really scaled down


def test_ddp_stages_match_single_process(ddp_runs):
    """Three stages under DDP: same losses, weights, frozen/trained parts and selected epochs;
    the fusion head, frozen at construction and perturbed on rank 1 at fit start, is
    synchronised when the engine wraps the method at the stage start."""
    single, ddp = ddp_runs
    _assert_same_run(single["staged"], ddp["staged"])
    spec = xor_dataset(n=640, seed=3).standardize().spec
    expected = expected_staged_changes(StagedToy(spec, hidden=32, embed_dim=16))
    assert ddp["staged"]["changed"] == single["staged"]["changed"] == expected
    assert [s["best_epoch"] for s in ddp["staged"]["stages"]] == [s["best_epoch"] for s in single["staged"]["stages"]]
    assert [s["metric"] for s in ddp["staged"]["stages"]] == ["a/accuracy", "accuracy", "accuracy"]
