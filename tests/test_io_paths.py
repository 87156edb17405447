"""check_writable: output locations are checked before work, without leaving anything behind."""

from __future__ import annotations

import pytest

from infofusion.errors import ConfigError, OutputPathError
from infofusion.io_paths import check_writable


def test_writable_locations_pass_and_nothing_is_left_behind(tmp_path):
    target = tmp_path / "new" / "deeper" / "records.jsonl"
    assert check_writable(target, "--out") == target
    assert not (tmp_path / "new").exists()  # parents are not created by the check
    existing = tmp_path / "old.jsonl"
    existing.write_text("keep\n")
    check_writable(existing, "--out")
    assert existing.read_text() == "keep\n"
    check_writable(tmp_path, "--plots", kind="dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.jsonl"]


def _file(t, *below):
    (t / "f").write_text("x")
    return t.joinpath("f", *below)


@pytest.mark.parametrize(
    "make, kind, reason",
    [
        (lambda t: t, "file", "it is a directory, a file is expected"),
        (lambda t: _file(t), "dir", "it is a file, a directory is expected"),
        (lambda t: _file(t, "sub", "r.jsonl"), "file", "f' is a file, not a directory"),
        (lambda t: "/proc/infofusion-check/r.jsonl", "file", "No such file"),
    ],
)
def test_unwritable_locations_name_the_option_and_the_path(tmp_path, make, kind, reason):
    path = make(tmp_path)
    with pytest.raises(OutputPathError, match=reason) as info:
        check_writable(path, "--checkpoint-dir", kind=kind)
    assert str(info.value).startswith(f"--checkpoint-dir: cannot write to '{path}'")
    assert isinstance(info.value, ConfigError) and info.value.what == "--checkpoint-dir"


def test_empty_path_is_refused():
    with pytest.raises(OutputPathError, match="--out: an output path is required"):
        check_writable("  ", "--out")
