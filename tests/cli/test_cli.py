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
    res = CliRunner().invoke(app, ["train", "--method", "late", "--data", "xor", "--seeds", "2",
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
                               out_dir=tmp_path, progress=False,
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
    assert "test/synergy_separate" in table and (tmp_path / "table.html").exists()


def test_train_plots_option_writes_the_information_plane(tmp_path, monkeypatch):
    import infofusion.data as data_mod
    from tests.helpers import xor_dataset

    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: xor_dataset(n=200))
    out, plots = tmp_path / "r.jsonl", tmp_path / "plots"
    res = CliRunner().invoke(app, ["train", "--method", "ithp", "--data", "xor", "--epochs", "2",
                                   "--no-progress", "--out", str(out), "--plots", str(plots)])
    assert res.exit_code == 0, res.output
    rec = read_records(out)[0]
    assert sorted(p.rsplit(".", 1)[1] for p in rec.extra["plots"]) == ["png", "svg"]
    assert all((plots / p.rsplit("/", 1)[1]).stat().st_size > 1000 for p in rec.extra["plots"])
    assert "wrote" in res.output
