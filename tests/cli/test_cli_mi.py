"""``infofusion mi``: estimates from files, conditional MI, JSON output, records, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from infofusion.cli.main import app
from infofusion.errors import ConfigError, FormatError
from infofusion.interfaces import read_records

runner = CliRunner()


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1500, 2))
    z = x[:, :1] + 0.5 * rng.standard_normal((1500, 1))
    y = z + 0.5 * rng.standard_normal((1500, 1))
    paths = {}
    for name, arr in (("x", x), ("y", y), ("z", z)):
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], arr)
    np.savetxt(tmp_path / "y.csv", y, delimiter=",")
    paths["ycsv"] = tmp_path / "y.csv"
    return paths


def test_mi_prints_value_with_uncertainty(files):
    res = runner.invoke(
        app, ["mi", str(files["x"]), str(files["y"]), "-e", "ksg", "--set", "k=4", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert (
        "I(X; Y) = " in res.output
        and "nats ±" in res.output
        and "95% CI" in res.output
        and "[ksg," in res.output
    )


def test_mi_conditional_json_and_record(files, tmp_path):
    out = tmp_path / "mi.jsonl"
    res = runner.invoke(
        app,
        [
            "mi",
            str(files["x"]),
            str(files["ycsv"]),
            "--z",
            str(files["z"]),
            "-e",
            "gaussian",
            "--json",
            "--bits",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    est = json.loads(res.output)
    assert est["unit"] == "bits" and est["extra"]["conditional"] is True
    assert abs(est["value"]) < 0.05  # X -> Z -> Y
    (rec,) = read_records(out)
    assert (
        rec.kind == "mi"
        and rec.config["estimator"] == "gaussian"
        and rec.config["z"].endswith("z.npy")
    )


def test_mi_auto_with_progress_shows_components(files):
    res = runner.invoke(app, ["mi", str(files["x"]), str(files["y"]), "--set", "neural_steps=60"])
    assert res.exit_code == 0, res.output
    assert "components: gcmi" in res.output and "[auto," in res.output


def test_mi_list():
    res = runner.invoke(app, ["mi", "--list"])
    assert res.exit_code == 0
    assert "ksg" in res.output and "club" in res.output and "auto" in res.output


def test_mi_errors_are_typed(files, tmp_path):
    # --debug lets the typed error through (without it: one line and exit 2)
    res = runner.invoke(app, ["--debug", "mi", str(files["x"]), str(tmp_path / "missing.npy")])
    assert isinstance(res.exception, FormatError) and "missing.npy" in str(res.exception)
    res = runner.invoke(
        app, ["--debug", "mi", str(files["x"]), str(files["y"]), "-e", "ksg", "--set", "kk=3"]
    )
    assert isinstance(res.exception, ConfigError) and "kk" in str(res.exception)
    res = runner.invoke(app, ["mi", str(files["x"]), str(tmp_path / "missing.npy")])
    assert res.exit_code == 2 and "error: " in res.output and "missing.npy" in res.output


def test_mi_error_exit_code_through_main(files):
    code = "from infofusion.cli.main import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "mi", str(files["x"]), str(files["y"]), "-e", "nope"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "unknown estimator 'nope'" in proc.stderr
