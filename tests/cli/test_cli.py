"""CLI: fast --help without torch, train writes records and prints the summary table."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from infofusion.cli.main import app
from infofusion.cli.train import parse_options
from infofusion.errors import ConfigError
from infofusion.interfaces import read_records


def test_help_does_not_import_torch():
    code = "import sys; from infofusion.cli.main import app; sys.argv=['infofusion','--help'];\n" \
           "try:\n    app()\nexcept SystemExit:\n    pass\nprint('TORCH' if 'torch' in sys.modules else 'NOTORCH')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NOTORCH")


def test_parse_options_reads_json_values():
    assert parse_options(["beta=8", "fusion=early", 'order=["a","b"]', "p=0.5"]) == {
        "beta": 8, "fusion": "early", "order": ["a", "b"], "p": 0.5}
    with pytest.raises(ConfigError, match="key=value"):
        parse_options(["oops"])


def test_train_command_writes_one_record_per_seed(tmp_path, monkeypatch):
    import infofusion.data as data_mod
    from tests.helpers import xor_dataset

    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: xor_dataset(n=200))
    out = tmp_path / "r.jsonl"
    res = CliRunner().invoke(app, ["train", "--no-save-model", "--method", "late", "--data", "xor", "--seeds", "2",
                                   "--epochs", "2", "--no-progress", "--out", str(out), "--set", "hidden=16"])
    assert res.exit_code == 0, res.output
    recs = read_records(out)
    assert [r.seed for r in recs] == [0, 1]
    assert recs[0].config["options"] == {"hidden": 16}
    assert recs[0].config["method_config"]["hidden"] == 16
    assert "test/accuracy" in recs[0].metrics and "test/a/accuracy" in recs[0].metrics
    assert {"infofusion", "torch", "numpy", "python"} <= set(recs[0].versions)
    assert "mean ± std" in res.output and "accuracy" in res.output
    json.loads(out.read_text().splitlines()[0])  # valid JSON lines


def test_unknown_method_is_a_clear_error(tmp_path):
    res = subprocess.run([sys.executable, "-m", "infofusion.cli.main", "train", "--method", "jont",
                          "--data", "synthetic:synergy", "--out", str(tmp_path / "x.jsonl")],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert "unknown method 'jont'" in res.stderr and "did you mean 'joint'" in res.stderr


def test_bench_records_synergy_against_separate_unimodal_models(tmp_path, monkeypatch):
    """On XOR data joint fusion is right where both separately trained unimodal models are
    wrong on a sizeable share of samples; late fusion (a sum of unimodal logits) is not."""
    import infofusion.api as api
    from tests.helpers import xor_dataset

    monkeypatch.setattr(api, "_as_dataset", lambda spec, options=None: (xor_dataset(n=600, seed=4), spec))
    from infofusion.training import TrainConfig

    records, table = api.bench(methods=["joint", "late", "unimodal"], datasets=["xor"], seeds=1,
                               out_dir=tmp_path, progress=False, run_id="r",
                               config=TrainConfig(epochs=25, lr=3e-3, patience=0, progress=False))
    by = {r.config["label"]: r for r in records}
    assert set(by) == {"joint", "late", "unimodal:a", "unimodal:b"}
    joint, late = by["joint"].metrics, by["late"].metrics
    assert joint["test/accuracy"] > 0.9 and late["test/accuracy"] < 0.7
    # each unimodal model is at chance, independently of the other, so both are wrong on about
    # a quarter of the samples -- which joint fusion gets right
    assert joint["test/synergy_separate"] == pytest.approx(0.25, abs=0.08)
    # binary task: if both branch logits point the wrong way, so does their sum
    assert late["test/synergy_branches"] == 0.0
    assert "test/synergy_separate" in table and (tmp_path / "r" / "table.html").exists()


def test_train_plots_option_writes_the_information_plane(tmp_path, monkeypatch):
    import infofusion.data as data_mod
    from tests.helpers import xor_dataset

    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: xor_dataset(n=200))
    out, plots = tmp_path / "r.jsonl", tmp_path / "plots"
    res = CliRunner().invoke(app, ["train", "--no-save-model", "--method", "ithp", "--data", "xor", "--epochs", "2",
                                   "--no-progress", "--out", str(out), "--plots", str(plots)])
    assert res.exit_code == 0, res.output
    rec = read_records(out)[0]
    assert sorted(p.rsplit(".", 1)[1] for p in rec.extra["plots"]) == ["png", "svg"]
    run = plots / rec.run["id"]  # one subfolder per run: a later run never overwrites them
    assert all((run / p.rsplit("/", 1)[1]).stat().st_size > 1000 for p in rec.extra["plots"])
    assert "wrote" in res.output


def test_training_options_are_the_fields_of_train_config():
    """One source of defaults and help: every TrainConfig field is an option of `train` (the
    seed comes from --seeds/--seed-start) and, where it makes sense, of `bench`."""
    import dataclasses

    import typer

    from infofusion.training.config import TrainConfig

    commands = typer.main.get_command(app).commands
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    train = {p.name: p for p in commands["train"].params}
    assert set(fields) - {"seed"} <= set(train)
    for name, f in fields.items():
        if name != "seed":
            assert train[name].default == f.default and train[name].help == f.metadata["help"]
    bench = {p.name for p in commands["bench"].params}
    assert set(fields) - {"seed", "checkpoint_dir", "resume", "progress"} <= bench


def test_train_sets_any_config_field_and_logs_one_line_per_seed(tmp_path, monkeypatch):
    import infofusion.data as data_mod
    from tests.helpers import xor_dataset

    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: xor_dataset(n=200))
    out = tmp_path / "r.jsonl"
    res = CliRunner().invoke(app, ["train", "--no-save-model", "-m", "late", "-d", "xor", "--seeds", "2", "--epochs", "2", "--out", str(out),
                                   "--grad-clip", "0.5", "--no-standardize", "--eval-batch-size", "64",
                                   "--set", "hidden=16"])
    assert res.exit_code == 0, res.output
    cfg = read_records(out)[0].config["train"]
    assert (cfg["grad_clip"], cfg["standardize"], cfg["eval_batch_size"], cfg["epochs"]) == (0.5, False, 64, 2)
    lines = [ln for ln in res.output.splitlines() if ln.startswith("[")]
    assert [ln.split(" test/accuracy")[0] for ln in lines] == ["[1/2] late xor seed 0:", "[2/2] late xor seed 1:"]


def test_bench_training_options_replace_the_budget(monkeypatch):
    import infofusion.api as api

    seen = {}

    def fake_bench(**kw):
        seen.update(kw)
        return [], "table"

    monkeypatch.setattr(api, "bench", fake_bench)
    res = CliRunner().invoke(app, ["bench", "--quick", "--epochs", "3", "--grad-clip", "1.0", "--out", "/nonexistent"])
    assert res.exit_code == 0, res.output
    cfg = seen["config"]
    assert (cfg.epochs, cfg.grad_clip, cfg.patience, cfg.lr) == (3, 1.0, 8, 2e-3)  # the rest: quick budget
    CliRunner().invoke(app, ["bench", "--quick", "--out", "/nonexistent"])
    assert seen["config"] is None  # nothing given: the api's own budget


def test_bench_prints_one_line_per_run_when_not_a_terminal(tmp_path, monkeypatch, capsys):
    import infofusion.api as api
    from infofusion.training import TrainConfig
    from tests.helpers import xor_dataset

    monkeypatch.setattr(api, "_as_dataset", lambda spec, options=None: (xor_dataset(n=200, seed=4), spec))
    records, _ = api.bench(methods=["joint", "unimodal"], datasets=["xor"], seeds=1, out_dir=tmp_path,
                           config=TrainConfig(epochs=1, progress=False))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(records) == 3
    for i, (line, rec) in enumerate(zip(lines, records, strict=True)):
        assert line.startswith(f"[{i + 1}/3] {rec.config['label']} xor seed 0: test/accuracy ")
        assert f"{rec.metrics['test/accuracy']:.4f}" in line and line.endswith(" s)")
