"""Benchmark suites and the resumable runner: an interrupted bench continues with the missing
runs only, records carry their cost and robustness, suites come from profiles or TOML."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from infofusion.benchmarking.suite import builtin_datasets, load_suite, make_suite, split_list
from infofusion.cli.main import app
from infofusion.errors import ConfigError, UnknownComponentError
from infofusion.interfaces import read_records
from tests.helpers import xor_dataset


@pytest.fixture()
def tiny_data(monkeypatch):
    import infofusion.api as api
    import infofusion.data as data_mod

    torch.set_num_threads(1)
    data = xor_dataset(n=80, seed=3)
    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: data)
    monkeypatch.setattr(api, "_as_dataset", lambda spec, options=None: (data, str(spec)))
    return data


def test_interrupted_bench_resumes_without_redoing_finished_runs(tmp_path, tiny_data, monkeypatch):
    import infofusion.training as training
    from infofusion.api import bench
    from infofusion.training import TrainConfig

    real_fit = training.fit
    calls: list[tuple[str, str | None, int]] = []
    stop_at = {"n": 4}

    def counting_fit(method, data, cfg, callbacks=(), **kw):
        calls.append((method, kw.get("modality"), cfg.seed))
        if len(calls) == stop_at["n"]:
            raise KeyboardInterrupt  # what Ctrl-C (or a kill between runs) leaves behind
        return real_fit(method, data, cfg, callbacks, **kw)

    monkeypatch.setattr(training, "fit", counting_fit)
    cfg = TrainConfig(epochs=1, progress=False)
    kw = dict(out_dir=tmp_path, progress=False, run_id="r1")
    with pytest.raises(KeyboardInterrupt):
        bench(methods=["joint", "unimodal"], datasets=["xor"], seeds=2, config=cfg, robustness=True, **kw)
    folder = tmp_path / "r1"
    plan = json.loads((folder / "run.json").read_text())["plan"]
    # the methods that are not multimodal run first (their outputs feed the synergy indicator)
    assert [p["label"] for p in plan] == ["unimodal:a", "unimodal:b", "joint"]
    first = (folder / "results.jsonl").read_bytes()
    done = [(r.config["label"], r.seed) for r in read_records(folder / "results.jsonl")]
    assert done == [("unimodal:a", 0), ("unimodal:a", 1), ("unimodal:b", 0)]
    with (folder / "results.jsonl").open("a") as f:
        f.write('{"kind": "bench", "config": {"data": "xo')  # a line torn by a kill mid-write
    # a new run may not reuse the folder; --resume continues it
    from infofusion.errors import OutputPathError

    with pytest.raises(OutputPathError, match="resume"):
        bench(methods=["joint"], datasets=["xor"], seeds=1, config=cfg, **kw)
    calls.clear()
    stop_at["n"] = -1
    records, _ = bench(resume=True, **kw)
    # only the missing runs were trained, each once
    assert calls == [("unimodal", "b", 1), ("joint", None, 0), ("joint", None, 1)]
    assert (folder / "results.jsonl").read_bytes().startswith(first)
    recs = read_records(folder / "results.jsonl")
    assert sorted((r.config["label"], r.seed) for r in recs) == sorted(
        (lab, s) for lab in ("unimodal:a", "unimodal:b", "joint") for s in (0, 1))
    assert len(records) == 6
    for r in recs:
        assert r.metrics["cost/params"] > 0 and r.metrics["cost/infer_ms_per_1000"] > 0
        assert r.metrics["cost/train_s_per_epoch"] > 0 and r.metrics["cost/peak_rss_mib"] > 0
        rob = r.extra["robustness"]
        assert len(rob["levels"]) == 11 and set(rob["noise"]) == {"a", "b", "all"}
        assert set(rob["missing"]["a"]) == {"zero", "mean"}
        assert (folder / r.extra["per_sample"]).is_file()
        if r.config["label"].startswith("unimodal:"):
            other = "b" if r.config["label"].endswith("a") else "a"
            assert rob["noise"][other] == [rob["clean"]] * 11  # the unused modality: flat
    # the joint runs got the synergy indicator against unimodal runs finished before the stop
    assert all("test/synergy_separate" in r.metrics for r in recs if r.config["label"] == "joint")
    assert (folder / "table.md").exists()
    # resuming a finished run trains nothing
    calls.clear()
    bench(resume=True, **kw)
    assert calls == []


def test_bench_cli_takes_comma_lists_and_prints_one_line_per_run(tmp_path, tiny_data):
    res = CliRunner().invoke(app, ["bench", "--methods", "joint,late", "-d", "xor", "--seeds", "1", "--epochs", "1",
                                   "--out", str(tmp_path), "--run-id", "c"])
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "c" / "run.json").read_text())["plan"]
    assert [p["label"] for p in plan] == ["joint", "late"]
    lines = [ln for ln in res.output.splitlines() if " seed 0: test/accuracy " in ln]
    assert len(lines) == 2
    bad = CliRunner().invoke(app, ["bench", "--resume", "--methods", "joint", "--out", str(tmp_path), "--run-id", "c"])
    assert bad.exit_code == 2 and "--resume" in bad.stderr


def test_profiles_and_lists():
    full = make_suite("full")
    assert [d.spec for d in full.datasets] == builtin_datasets() and full.seeds == [0, 1, 2, 3, 4]
    assert full.methods is None  # every registered method
    assert "digits" in builtin_datasets() and "synthetic:synergy" in builtin_datasets()
    quick = make_suite("quick", methods=["joint"], seeds=[0, 1])
    assert quick.methods == ["joint"] and quick.seeds == [0, 1]
    assert split_list(["a,b", " c ", ""]) == ["a", "b", "c"] and split_list(None) is None
    with pytest.raises(ConfigError, match="profile"):
        make_suite("medium")


def test_toml_suite(tmp_path):
    from infofusion.benchmarking.runner import plan_of

    path = tmp_path / "suite.toml"
    path.write_text(
        'profile = "quick"\nseeds = [3, 4]\nmethods = ["late", "unimodal"]\nrobustness = true\n'
        "[train]\nepochs = 2\n"
        '[[data]]\nspec = "synthetic:synergy"\nname = "syn-small"\noptions = { n = 200 }\n'
        '[options.late]\nhidden = 8\n'
    )
    suite = load_suite(path)
    assert suite.seeds == [3, 4] and suite.train == {"epochs": 2} and suite.robustness
    assert suite.datasets[0].name == "syn-small" and suite.datasets[0].options == {"n": 200}
    plan = plan_of(suite)
    assert [p["label"] for p in plan] == ["unimodal:m1", "unimodal:m2", "late"]
    assert plan[-1] == {"data": "syn-small", "spec": "synthetic:synergy", "data_options": {"n": 200},
                        "method": "late", "options": {"hidden": 8}, "label": "late"}
    for text, error, words in (
        ("seedz = 3\n", ConfigError, ("seedz", "suite.toml")),
        ('methods = ["jiont"]\n', UnknownComponentError, ("jiont", "joint")),
        ("[train]\nepoch = 3\n", ConfigError, ("epoch", "[train]")),
        ('[[data]]\nname = "x"\n', ConfigError, ("spec",)),
        ("seeds = 0\n", ConfigError, ("seeds",)),
        ("profile = [\n", ConfigError, ("not valid TOML",)),
    ):
        path.write_text(text)
        with pytest.raises(error) as info:
            load_suite(path)
        for w in words:
            assert w in str(info.value)


@pytest.mark.slow
def test_bench_killed_with_sigkill_resumes_from_its_results_file(tmp_path):
    """A real ``infofusion bench`` process killed (SIGKILL) after its first finished run: the
    resumed bench adds exactly the missing runs and keeps the finished ones byte for byte."""
    import os
    import signal
    import subprocess
    import sys
    import time

    suite = tmp_path / "suite.toml"
    suite.write_text('seeds = 2\nmethods = ["late", "joint"]\n[train]\nepochs = 30\npatience = 0\n'
                     '[[data]]\nspec = "synthetic:synergy"\noptions = { n = 3000 }\n')
    cmd = [sys.executable, "-m", "infofusion.cli.main", "bench", "--config", str(suite), "--out", str(tmp_path),
           "--run-id", "k"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = tmp_path / "k" / "results.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (results.exists() and results.read_text().count("\n") >= 1):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = results.read_bytes()
    n_first = first.count(b"\n")
    assert 1 <= n_first < 4
    cmd_resume = [c for c in cmd if c not in ("--config", str(suite))] + ["--resume"]
    res = subprocess.run(cmd_resume, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert results.read_bytes().startswith(first)
    keys = [(r.config["label"], r.seed) for r in read_records(results)]
    assert sorted(keys) == sorted((lab, s) for lab in ("late", "joint") for s in (0, 1))
    # one progress line per run trained on resume, none for the finished ones
    import re

    assert len(re.findall(r"^\[\d+/\d+\] ", res.stdout, flags=re.M)) == 4 - n_first
