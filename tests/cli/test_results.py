"""Results are never lost: no command deletes or overwrites an earlier result, every record
says which run produced it, and tables say what their numbers are."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from infofusion.cli.main import app
from infofusion.interfaces import RunRecord, read_records, run_scope
from tests.helpers import xor_dataset


def _snapshot(root: Path) -> dict[str, str]:
    """path -> sha256 of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _ok(argv):
    res = CliRunner().invoke(app, [str(a) for a in argv])
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture()
def tiny_data(monkeypatch):
    import infofusion.api as api
    import infofusion.data as data_mod

    data = xor_dataset(n=80, seed=3)
    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: data)
    monkeypatch.setattr(api, "_as_dataset", lambda spec, options=None: (data, str(spec)))
    return data


def test_no_command_deletes_or_overwrites_an_earlier_result(tmp_path, tiny_data):
    """Each writing command run twice with the same output options: every file of the first
    run is still there, byte for byte, and the second run's results are beside them."""
    res = tmp_path / "results"
    train = ["train", "-m", "joint", "-d", "xor", "--epochs", "1", "--no-progress", "--set", "hidden=8",
             "--out", res / "train.jsonl", "--model-dir", res / "models", "--per-sample", res / "ps",
             "--plots", res / "plots"]
    bench = ["bench", "-m", "joint", "-d", "xor", "--seeds", "1", "--epochs", "1", "--no-progress",
             "--out", res / "bench"]
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, np.random.default_rng(0).normal(size=(50, 1)))
    np.save(y, np.random.default_rng(1).normal(size=(50, 1)))
    mi = ["mi", x, y, "-e", "gaussian", "--no-progress", "--out", res / "mi.jsonl"]

    def report(name):
        return ["report", res / "train.jsonl", "--out", res / name]

    def predict(name):
        return ["predict", "--model", sorted((res / "models").rglob("*.pt"))[0], "--data", "xor", "--out", res / name]

    for argv in (train, bench, mi, report("table.md")):
        _ok(argv)
    _ok(predict("p.csv"))  # after train wrote a model
    first = _snapshot(res)
    texts = {name: (res / name).read_bytes() for name in ("train.jsonl", "mi.jsonl")}
    for argv in (train, bench, mi, report("table2.md"), predict("p2.csv")):
        _ok(argv)
    second = _snapshot(res)
    for path, digest in first.items():
        assert path in second, f"{path} was deleted"
        if path in texts:  # appended: the first run's lines stay as they were, the second's follow
            now = (res / path).read_bytes()
            assert now.startswith(texts[path]) and len(now) > len(texts[path])
        else:
            assert second[path] == digest, f"{path} was overwritten"
    assert len({r.run["id"] for r in read_records(res / "train.jsonl")}) == 2
    assert len([p for p in (res / "bench").iterdir() if (p / "results.jsonl").exists()]) == 2
    for folder in ("models", "ps", "plots"):
        assert len(list((res / folder).iterdir())) == 2, folder  # one subfolder per run
    # the commands that would replace a file need to be told; without --overwrite they refuse
    for argv in (report("table.md"), predict("p.csv")):
        out = CliRunner().invoke(app, [str(a) for a in argv])
        assert out.exit_code == 2 and "--overwrite" in out.stderr
    assert _snapshot(res) == second


def test_checkpoint_of_an_earlier_run_is_never_overwritten(tmp_path, tiny_data):
    ck = tmp_path / "ck"
    argv = ["train", "-m", "joint", "-d", "xor", "--epochs", "1", "--no-progress", "--no-save-model",
            "--out", tmp_path / "r.jsonl", "--checkpoint-dir", ck, "--set", "hidden=8"]
    _ok(argv)
    before = _snapshot(ck)
    res = CliRunner().invoke(app, [str(a) for a in argv])
    assert res.exit_code == 2 and "--resume" in res.stderr and "seed0" in res.stderr
    assert _snapshot(ck) == before
    _ok(argv + ["--resume"])  # the same run, continued (finished: nothing more to do)


def test_every_record_says_which_run_produced_it(tmp_path, tiny_data):
    from infofusion import __version__

    out = tmp_path / "r.jsonl"
    for _ in range(2):
        _ok(["train", "-m", "late", "-d", "xor", "--seeds", "2", "--epochs", "1", "--no-progress",
             "--no-save-model", "--out", out, "--set", "hidden=8"])
    recs = read_records(out)
    assert len(recs) == 4
    ids = [r.run["id"] for r in recs]
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert all(re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", i) for i in ids)
    for r in recs:
        assert r.run["infofusion"] == __version__
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r.run["started"])
        assert "command" in r.run and "git_commit" in r.run
    # this test runs from a git checkout: the commit is the checkout's HEAD
    import subprocess

    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).parent).stdout.strip()
    assert recs[0].run["git_commit"] == head
    # records of other commands carry it too; one read back from an old file does not get one
    rec = RunRecord("mi", {})
    assert rec.run["id"] and RunRecord.from_json('{"kind": "x", "config": {}}').run == {}
    with run_scope("fixed-id"):
        assert RunRecord("pid", {}).run["id"] == "fixed-id"


def test_bench_writes_each_run_in_its_own_folder_with_its_plan(tmp_path, tiny_data):
    import json

    from infofusion.api import bench
    from infofusion.training import TrainConfig

    cfg = TrainConfig(epochs=1, progress=False)
    recs, _ = bench(methods=["joint"], datasets=["xor"], seeds=1, out_dir=tmp_path, config=cfg,
                    progress=False, run_id="first")
    folder = tmp_path / "first"
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["run"]["id"] == "first" and manifest["seeds"] == [0]
    assert manifest["plan"] == [{"data": "xor", "method": "joint", "options": {}, "label": "joint"}]
    assert [r.run["id"] for r in read_records(folder / "results.jsonl")] == ["first"]
    from infofusion.errors import OutputPathError

    with pytest.raises(OutputPathError, match="already holds results"):
        bench(methods=["joint"], datasets=["xor"], seeds=1, out_dir=tmp_path, config=cfg, progress=False,
              run_id="first")


def test_report_keeps_runs_apart_and_titles_say_what_the_numbers_are(tmp_path):
    from infofusion.report.tables import table_title

    def rec(run, acc, selected="valid", split="test"):
        with run_scope(run):
            return RunRecord("train", {"data": "d", "label": "joint"}, seed=0,
                             metrics={f"{split}/accuracy": acc}, extra={"selected_on": selected})

    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(r.to_json() for r in (rec("a", 0.5), rec("a", 0.7), rec("b", 0.9))) + "\n")
    res = _ok(["report", path])
    rows = [ln for ln in res.output.splitlines() if ln.startswith("| d |")]
    assert rows == ["| d | joint | 2 | a | 0.600 ± 0.100 |", "| d | joint | 1 | b | 0.900 ± 0.000 |"]
    assert res.output.startswith("test split, mean ± std over seeds (models selected on validation)")
    assert "0.900" in _ok(["report", path, "--run", "b"]).output
    assert "0.600" not in _ok(["report", path, "--run", "b"]).output
    assert table_title([rec("c", 0.5, None, "train")]) == (
        "train split, mean ± std over seeds (last epoch, no validation split; not a held-out estimate)")
    assert "optimistic" in table_title([rec("c", 0.5, "valid", "valid")])


def test_training_without_validation_or_test_split_says_so(recwarn):
    """A dataset with only a training split: the last epoch is kept, the record says no
    selection happened, the table is titled with the training split, and warnings say why."""
    import infofusion
    from infofusion.errors import InfoFusionWarning
    from infofusion.report.tables import table_title
    from infofusion.training import TrainConfig

    only_train = xor_dataset(n=40).with_splits(["train"] * 40)
    recs = infofusion.train("joint", only_train, config=TrainConfig(epochs=2, progress=False))
    assert recs[0].extra["selected_on"] is None and recs[0].extra["splits"] == {"train": 40}
    assert not any(k.startswith(("test/", "valid/")) for k in recs[0].metrics)
    assert table_title(recs).startswith("train split") and "no validation split" in table_title(recs)
    said = [str(w.message) for w in recwarn if issubclass(w.category, InfoFusionWarning)]
    assert any("no 'valid' split" in s for s in said) and any("no 'test' split" in s for s in said)
    full = infofusion.train("joint", xor_dataset(n=40), config=TrainConfig(epochs=2, progress=False))
    assert full[0].extra["selected_on"] == "valid"


def test_cli_prints_warnings_as_one_line_each(tmp_path, monkeypatch):
    import infofusion.data as data_mod

    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: xor_dataset(n=40).with_splits(["train"] * 40))
    res = CliRunner().invoke(app, ["train", "-m", "joint", "-d", "x", "--epochs", "1", "--no-save-model",
                                   "--out", str(tmp_path / "r.jsonl"), "--checkpoint-dir", str(tmp_path / "ck"),
                                   "--resume"])
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    assert f"warning: no checkpoint in {tmp_path / 'ck' / 'seed0'}: starting fresh" in lines
    assert sum(ln.startswith("warning: ") for ln in lines) == len(lines) == 3
    assert "train split" in res.stdout and "not a held-out estimate" in res.stdout


def test_terminal_tables_never_squeeze_a_cell_at_100_columns():
    """Six metrics at 100 columns (formerly zero-width columns): every cell is printed whole,
    spread over as many tables as needed, each within the width."""
    from rich.console import Console

    from infofusion.cli.train import print_table

    metrics = [f"test/{m}" for m in ("accuracy", "macro_f1", "mAP", "weighted_f1", "weighted_precision",
                                     "weighted_recall")]
    rows = [{"data": "synthetic:synergy", "method": "joint", "seeds": 3,
             **{m: (0.9 + i / 1000, 0.01 + i / 1000) for i, m in enumerate(metrics)}}]
    buf = io.StringIO()
    print_table(rows, metrics, "test split, mean ± std over seeds", Console(file=buf, width=100))
    text = buf.getvalue()
    for i, m in enumerate(metrics):
        assert f"{0.9 + i / 1000:.3f} ± {0.01 + i / 1000:.3f}" in text
        assert m.split("/")[1] in text
    assert "…" not in text and "synthetic:synergy" in text.replace("\n", "")
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "(1/2)" in text and "(2/2)" in text  # it did have to spread
    wide = io.StringIO()
    print_table(rows, metrics, "t", Console(file=wide, width=200))
    assert "(1/" not in wide.getvalue()  # one table when it fits


def test_api_train_prints_nothing_when_not_a_terminal(capsys):
    import infofusion
    from infofusion.training import TrainConfig

    infofusion.train("joint", xor_dataset(n=40), config=TrainConfig(epochs=3))
    assert capsys.readouterr().out == ""
