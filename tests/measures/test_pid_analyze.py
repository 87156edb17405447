"""api.analyze, the ``infofusion analyze`` command and the dataset-level estimators."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infofusion.api import analyze
from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError, UnknownComponentError
from infofusion.interfaces import read_records
from infofusion.measures.pid import BatchNeuralPID, PIDEstimate


def _xor_data(n=800, seed=0, m=2, noise=0.2):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (n, m))
    y = np.bitwise_xor.reduce(bits, axis=1)
    mods = {f"m{i + 1}": (2 * bits[:, i : i + 1] - 1.0) + noise * rng.standard_normal((n, 3)) for i in range(m)}
    split = np.where(np.arange(n) < int(0.7 * n), "train", "test")
    types = np.full(n, "synergy")
    return MultimodalDataset(mods, y.astype(np.int64), splits=split, sample_meta={"interaction": types}, name="xor")


def test_analyze_writes_plots_and_record(tmp_path):
    res = analyze(_xor_data(), estimator="plugin", k=2, n_boot=10, n_perm=10, out_dir=tmp_path, console=False)
    assert res.estimate.dominant() == "S"
    assert res.estimate.atoms["S"].value == pytest.approx(1.0, abs=0.1)
    for ext in ("png", "svg"):
        assert (tmp_path / f"xor_pid.{ext}").stat().st_size > 0
        assert (tmp_path / f"xor_pointwise.{ext}").stat().st_size > 0
    (rec,) = read_records(tmp_path / "records.jsonl")
    assert rec.kind == "pid" and rec.extra["unit"] == "bits"
    assert rec.metrics["pid/S"] == pytest.approx(res.estimate.atoms["S"].value)
    assert "pid/S_null" in rec.metrics and "pid/S_ci_low" in rec.metrics
    assert rec.config["estimator"] == "plugin" and rec.config["options"]["k"] == 2
    assert rec.extra["estimate"]["discretization"]["m1"]["k"] == 2
    assert rec.metrics["pointwise/agreement"] > 0.8


def test_analyze_in_nats_scales_every_number(tmp_path):
    kw = dict(estimator="plugin", k=2, n_boot=5, n_perm=0, pointwise=False, out_dir=None, console=False)
    bits = analyze(_xor_data(n=400), **kw)
    nats = analyze(_xor_data(n=400), unit="nats", **kw)
    assert nats.estimate.unit == "nats" and nats.record.config["unit"] == "nats"
    a, b = bits.estimate.atoms["S"], nats.estimate.atoms["S"]
    assert b.value == pytest.approx(a.value * np.log(2))
    assert b.ci[1] == pytest.approx(a.ci[1] * np.log(2))
    assert nats.record.metrics["pid/I12"] == pytest.approx(bits.record.metrics["pid/I12"] * np.log(2))


def test_analyze_plot_leaves_the_matplotlib_backend_alone(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    analyze(_xor_data(n=300), estimator="plugin", k=2, n_boot=2, n_perm=0, pointwise=False,
            out_dir=tmp_path, console=False)
    assert matplotlib.get_backend() == before


def test_analyze_three_modalities(tmp_path):
    res = analyze(_xor_data(m=3, n=1200), estimator="plugin", k=2, n_boot=2, n_perm=5, pointwise=False,
                  out_dir=None, console=False)
    assert res.multi is not None and res.multi["o_information"] < -1.5
    assert res.estimate.atoms["S"].value < 0.2  # any pair is at chance for a 3-way XOR


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"k": 1}, "k must be an integer >= 2"),
        ({"n_boot": -1}, "n_boot must be an integer >= 0"),
        ({"n_perm": -3}, "n_perm must be an integer >= 0"),
        ({"unit": "bytes"}, "unit must be 'bits' or 'nats'"),
        ({"representation": "pixels"}, "representation must be"),
        ({"correction": "magic"}, "correction must be"),
        ({"modalities": ("m1", "zz")}, "unknown modality 'zz'"),
        ({"modalities": ("m1", "m1")}, "two different modalities"),
        ({"estimator": "batch", "k": 4}, "option.*of the 'plugin' estimator"),
        ({"estimator": "broja"}, "discrete PID measure"),
        ({"estimator": "plugin", "estimator_options": {"bogus": 1}}, "unknown option.*bogus"),
        ({"pointwise_model": "svm"}, "pointwise_model"),
    ],
)
def test_analyze_rejects_bad_options_by_name(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        analyze(_xor_data(n=200), out_dir=None, console=False, pointwise=False, **kwargs)


def test_analyze_unknown_estimator_suggests():
    with pytest.raises(UnknownComponentError, match="plugin"):
        analyze(_xor_data(n=200), estimator="plugn", out_dir=None, console=False)


def test_analyze_unwritable_out_dir_fails_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="out_dir"):
        analyze("synthetic:nosuch-task-not-loaded", out_dir=blocker / "sub", console=False)


def _cli(args):
    from typer.testing import CliRunner

    from infofusion.cli.main import app

    return CliRunner().invoke(app, args)


def test_cli_analyze(tmp_path):
    out = tmp_path / "cli"
    result = _cli(["analyze", "--data", "synthetic:uniqueness1", "--data-set", "n=600", "--boot", "5", "--perm", "5",
                   "--no-pointwise", "--k", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "U1" in result.output and "null" in result.output
    line = json.loads((out / "records.jsonl").read_text().splitlines()[0])
    assert line["kind"] == "pid" and line["extra"]["dominant"] == "U1"


@pytest.mark.parametrize(
    "args,word",
    [
        (["--boot", "-1"], "--boot"),
        (["--k", "1"], "--k"),
        (["--unit", "bytes"], "--unit"),
        (["--measure", "batch"], "batch"),
        (["--estimator", "nosuch"], "nosuch"),
    ],
)
def test_cli_analyze_user_errors_are_typed(args, word):
    import sys

    from infofusion.cli.main import main

    argv = ["infofusion", "analyze", "--data", "synthetic:synergy", "--data-set", "n=300", "--no-pointwise", "--out", "x", *args]
    old = sys.argv
    sys.argv = argv
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = old
    assert exc.value.code == 2


def test_batch_estimator_returns_an_estimate_with_intervals():
    ds = _xor_data(n=1000)
    est = BatchNeuralPID(epochs=25, hidden=32, n_eval_batches=3, eval_batch=48).estimate(ds)
    assert isinstance(est, PIDEstimate) and est.plugin is None
    assert est.dominant() == "S"
    total = sum(a.value for a in est.atoms.values())
    assert total == pytest.approx(est.extra["I12"], abs=1e-9)
    for a in est.atoms.values():
        assert a.ci[0] <= a.ci[1] and a.ci[1] > a.ci[0]
    assert est.extra["eval_split"] == "test"


def test_batch_estimator_refuses_in_sample_evaluation():
    ds = _xor_data(n=200).with_splits(np.full(200, "train"))
    with pytest.raises(ConfigError, match="held-out split"):
        BatchNeuralPID(epochs=1).estimate(ds)
    with pytest.raises(ConfigError, match="eval_split"):
        BatchNeuralPID(eval_split="train")


@pytest.mark.slow
@pytest.mark.parametrize("task,atom", [("redundancy", "R"), ("uniqueness1", "U1"), ("uniqueness2", "U2"), ("synergy", "S")])
def test_synthetic_suite_dominant_atom(task, atom):
    from infofusion.data import load_dataset

    ds = load_dataset(f"synthetic:{task}", n=3000)
    est = BatchNeuralPID(n_eval_batches=8).estimate(ds)
    assert est.dominant() == atom
    res = analyze(ds, estimator="plugin", k=10, n_boot=10, n_perm=10, pointwise=False, out_dir=None, console=False)
    assert res.estimate.dominant() == atom


def test_analyze_batch_record_holds_the_per_modality_mi(tmp_path):
    # the batch estimator has no plug-in solution; its I(X1;Y), I(X2;Y), I(X1,X2;Y) still reach
    # the record (the report's per-modality MI), and they obey the PID identities
    kw = dict(estimator="batch", epochs=15, hidden=32, n_eval_batches=3, eval_batch=48,
              pointwise=False, out_dir=None, console=False)
    bits = analyze(_xor_data(n=800), **kw)
    m = bits.record.metrics
    assert m["pid/I1"] == pytest.approx(m["pid/R"] + m["pid/U1"], abs=1e-9)
    assert m["pid/I2"] == pytest.approx(m["pid/R"] + m["pid/U2"], abs=1e-9)
    assert m["pid/I12"] == pytest.approx(m["pid/R"] + m["pid/U1"] + m["pid/U2"] + m["pid/S"], abs=1e-9)
    assert m["pid/I12"] > 0.5  # XOR: about one bit from the pair, next to none from either alone
    nats = analyze(_xor_data(n=800), unit="nats", **kw)
    assert nats.record.metrics["pid/I12"] == pytest.approx(m["pid/I12"] * np.log(2), rel=1e-9)


def test_batch_atom_interval_is_one_sided_only_across_zero():
    from infofusion.measures.pid.neural import atom_interval

    assert atom_interval(0.5, 0.1, 800, z=2.0) == pytest.approx((0.3, 0.7, False))
    lo, hi, one = atom_interval(0.05, 0.1, 800, z=2.0)  # straddles 0: [0, hi]
    assert (lo, one) == (0.0, True) and hi == pytest.approx(0.25)
    assert atom_interval(0.0, 0.0, 800)[:2] == (0.0, 1.0 / 800)  # never narrower than 1/n
    # wholly below 0 (the classifiers disagree): kept as it is, so it contains the estimate
    lo, hi, one = atom_interval(-0.19, 0.005, 800, z=2.0)
    assert not one and lo <= -0.19 <= hi < 0
