"""analyze(), the ``infofusion analyze`` command and the batch neural estimator."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infofusion.data.dataset import MultimodalDataset
from infofusion.interfaces import read_records
from infofusion.measures.pid import BatchNeuralPID
from infofusion.measures.pid.analyze import analyze


def _xor_data(n=800, seed=0, m=2):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n, m))
    y = np.bitwise_xor.reduce(bits, axis=1)
    mods = {f"m{i + 1}": (2 * bits[:, i : i + 1] - 1.0) + 0.2 * rng.standard_normal((n, 3)) for i in range(m)}
    split = np.where(np.arange(n) < int(0.7 * n), "train", "test")
    types = np.full(n, "synergy")
    return MultimodalDataset(mods, y.astype(np.int64), splits=split, sample_meta={"interaction": types}, name="xor")


def test_analyze_writes_plots_and_record(tmp_path):
    res = analyze(_xor_data(), k=2, n_boot=10, n_perm=10, out_dir=tmp_path, console=False)
    assert res.estimate.dominant() == "S"
    assert res.estimate.atoms["S"].value == pytest.approx(1.0, abs=0.1)
    for ext in ("png", "svg"):
        assert (tmp_path / f"xor_pid.{ext}").stat().st_size > 0
        assert (tmp_path / f"xor_pointwise.{ext}").stat().st_size > 0
    (rec,) = read_records(tmp_path / "records.jsonl")
    assert rec.kind == "pid" and rec.extra["unit"] == "bits"
    assert rec.metrics["pid/S"] == pytest.approx(res.estimate.atoms["S"].value)
    assert "pid/S_null" in rec.metrics and "pid/S_ci_low" in rec.metrics
    assert rec.extra["discretization"]["m1"]["k"] == 2
    assert rec.metrics["pointwise/agreement"] > 0.8


def test_analyze_three_modalities(tmp_path):
    res = analyze(_xor_data(m=3, n=1200), k=2, n_boot=0, n_perm=5, pointwise=False, out_dir=tmp_path, console=False)
    assert res.multi is not None and res.multi["o_information"] < -1.5
    assert res.estimate.atoms["S"].value < 0.2  # any pair is at chance for a 3-way XOR


def test_cli_analyze(tmp_path):
    from typer.testing import CliRunner

    from infofusion.cli.main import app

    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app,
        ["analyze", "--data", "synthetic:uniqueness1", "-o", "n=600", "--boot", "5", "--perm", "5",
         "--no-pointwise", "--k", "4", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "U1" in result.output and "null" in result.output
    line = json.loads((out / "records.jsonl").read_text().splitlines()[0])
    assert line["kind"] == "pid" and line["extra"]["dominant"] == "U1"


def test_batch_neural_estimator_recovers_dominant_atom():
    ds = _xor_data(n=1000)
    est = BatchNeuralPID(epochs=25, hidden=32, n_eval_batches=3, eval_batch=48).estimate(ds)
    assert max(("R", "U1", "U2", "S"), key=lambda k: est[k]) == "S"
    assert est["R"] + est["U1"] + est["U2"] + est["S"] == pytest.approx(est["I12"], abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("task,atom", [("redundancy", "R"), ("uniqueness1", "U1"), ("uniqueness2", "U2"), ("synergy", "S")])
def test_synthetic_suite_dominant_atom(task, atom):
    from infofusion.data import load_dataset

    ds = load_dataset(f"synthetic:{task}", n=3000)
    est = BatchNeuralPID(n_eval_batches=8).estimate(ds)
    assert max(("R", "U1", "U2", "S"), key=lambda k: est[k]) == atom
    res = analyze(ds, k=10, n_boot=10, n_perm=10, pointwise=False, out_dir=None, console=False)
    assert res.estimate.dominant() == atom
