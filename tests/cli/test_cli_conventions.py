"""Conventions every command shares: --version, one-line errors with exit 2, --debug, plain
flags, and dir(infofusion)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infofusion.cli.main import app
from infofusion.errors import ConfigError

runner = CliRunner()


def test_version_through_the_app_and_the_console_script():
    from infofusion import __version__

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"infofusion {__version__}"
    script = Path(sys.executable).with_name("infofusion")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"infofusion {__version__}"


def test_user_error_is_one_line_and_exit_2_and_debug_shows_the_error():
    argv = ["datasets", "info", "--data", "synthetic:synergy", "--set", "bogus=1"]
    res = runner.invoke(app, argv)
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [
        "error: unknown option(s) for synthetic: bogus (available: n, seed, dim, noise, "
        "proportions, fractions, hidden, n_nuisance, type_scale, clean, "
        "noise_modalities, corrupt, corrupt_fraction)"
    ]
    res = runner.invoke(app, ["--debug", *argv])
    assert isinstance(res.exception, ConfigError) and "bogus" in str(res.exception)


def test_os_errors_are_user_errors_and_bugs_keep_their_traceback(monkeypatch):
    import infofusion.data.formats as formats

    def denied(spec, **kw):
        raise PermissionError(13, "Permission denied", "/data/locked.npz")

    monkeypatch.setattr(formats, "dataset_info", denied)
    res = runner.invoke(app, ["datasets", "info", "--data", "generic:/data/locked.npz"])
    assert res.exit_code == 2
    assert res.stderr.strip() == "error: '/data/locked.npz': Permission denied"

    def bug(spec, **kw):
        return 1 / 0

    monkeypatch.setattr(formats, "dataset_info", bug)
    res = runner.invoke(app, ["datasets", "info", "--data", "x"])
    assert res.exit_code == 1 and isinstance(res.exception, ZeroDivisionError)


def test_usage_errors_are_one_line_too():
    res = runner.invoke(app, ["bench", "--quick", "yes"])
    assert res.exit_code == 2
    (line,) = res.stderr.splitlines()
    assert line.startswith("error: Got unexpected extra argument(s) (yes)")
    assert "flags and take no value" in line and "infofusion bench --help" in line


@pytest.mark.parametrize("argv", [["--help"], ["bench", "--help"], ["datasets", "info", "--help"]])
def test_flags_show_no_value_placeholder(argv):
    res = runner.invoke(app, argv)
    assert res.exit_code == 0 and "<bool>" not in res.output
    assert "--help" in res.output


def test_dir_lists_the_public_api():
    import infofusion

    names = dir(infofusion)
    for name in (
        "train",
        "bench",
        "estimate_mi",
        "analyze",
        "load_dataset",
        "MultimodalDataset",
        "__version__",
    ):
        assert name in names
    assert "importlib" not in names and "Any" not in names and "_LAZY" not in names
