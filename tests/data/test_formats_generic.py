"""Generic feature files (npz / HDF5 / parquet), dataset_info and the datasets CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infofusion.data import load_dataset
from infofusion.data.formats import dataset_info
from infofusion.errors import ConfigError, FormatError

try:
    from . import fixtures
except ImportError:
    import fixtures

N = 30


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "audio": rng.normal(size=(N, 6, 4)).astype(np.float32),
        "text": rng.normal(size=(N, 5)).astype(np.float32),
        "audio_lengths": rng.integers(1, 7, N),
        "target": np.arange(N) % 3,
        "ids": np.array([f"s{i}" for i in range(N)]),
        "split": np.array(["train"] * 20 + ["valid"] * 4 + ["test"] * 6),
    }


def _check(ds, ref):
    np.testing.assert_array_equal(ds.modality("audio").numpy(), ref["audio"])
    np.testing.assert_array_equal(ds.modality("text").numpy(), ref["text"])
    np.testing.assert_array_equal(ds.lengths("audio").numpy(), ref["audio_lengths"])
    np.testing.assert_array_equal(ds.target.numpy(), ref["target"])
    assert list(ds.ids) == list(ref["ids"])
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 20, "valid": 4, "test": 6}
    assert ds.task == "classification" and ds.info["protocol"] == "classification"


def test_one_npz_with_named_arrays(tmp_path):
    ref = _arrays()
    np.savez(tmp_path / "data.npz", **ref)
    _check(load_dataset(f"generic:{tmp_path / 'data.npz'}"), ref)


def test_one_hdf5_with_named_arrays(tmp_path):
    import h5py

    ref = _arrays()
    with h5py.File(tmp_path / "data.h5", "w") as fh:
        for k, v in ref.items():
            fh.create_dataset(k, data=v.astype("S") if v.dtype.kind == "U" else v)
    _check(load_dataset(f"generic:{tmp_path / 'data.h5'}"), ref)


def test_one_file_per_modality(tmp_path):
    import h5py
    import pandas as pd

    ref = _arrays()
    np.savez(tmp_path / "audio.npz", data=ref["audio"], lengths=ref["audio_lengths"])
    pd.DataFrame(ref["text"], columns=[f"f{i}" for i in range(5)]).to_parquet(
        tmp_path / "text.parquet"
    )
    with h5py.File(tmp_path / "vision.h5", "w") as fh:
        fh.create_dataset("data", data=ref["text"][:, :2] * 2)
    np.savez(tmp_path / "target.npz", target=ref["target"], ids=ref["ids"], split=ref["split"])
    ds = load_dataset(f"generic:{tmp_path}")
    _check(ds, ref)
    np.testing.assert_array_equal(ds.modality("vision").numpy(), ref["text"][:, :2] * 2)
    only = load_dataset(f"generic:{tmp_path}", modalities="audio,vision")
    assert only.names == ("audio", "vision")


def test_one_parquet_with_grouped_columns(tmp_path):
    import pandas as pd

    ref = _arrays()
    frame = pd.DataFrame({f"text.{i}": ref["text"][:, i] for i in range(5)})
    frame["audio.energy"] = ref["text"][:, 0] * 3
    frame["target"] = ref["target"].astype(float) - 1.0
    frame["split"] = ref["split"]
    frame.to_parquet(tmp_path / "feat.parquet")
    ds = load_dataset(f"generic:{tmp_path / 'feat.parquet'}", protocol="mmsa")
    np.testing.assert_array_equal(ds.modality("text").numpy(), ref["text"])
    assert ds.modality("audio").shape == (N, 1)
    assert ds.task == "regression" and ds.info["protocol"] == "mmsa"


def test_generic_carves_valid_when_asked(tmp_path):
    ref = _arrays()
    ref.pop("split")
    np.savez(tmp_path / "d.npz", **ref)
    ds = load_dataset(f"generic:{tmp_path / 'd.npz'}", valid_fraction=0.2, seed=3)
    assert set(ds.splits) == {"train", "valid"} and ds.info["valid_seed"] == 3


def test_generic_errors(tmp_path):
    ref = _arrays()
    bad = dict(ref, text=ref["text"][:-2])
    np.savez(tmp_path / "counts.npz", **bad)
    with pytest.raises(FormatError, match="inconsistent sample counts") as info:
        load_dataset(f"generic:{tmp_path / 'counts.npz'}")
    assert info.value.key == "text" and info.value.path.endswith("counts.npz")
    np.savez(tmp_path / "obj.npz", **dict(ref, ids=ref["ids"].astype(object)))
    with pytest.raises(FormatError, match="object array"):
        load_dataset(f"generic:{tmp_path / 'obj.npz'}")
    np.savez(tmp_path / "good.npz", **ref)
    blob = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FormatError, match="truncated"):
        load_dataset(f"generic:{tmp_path / 'cut.npz'}")
    np.savez(tmp_path / "notarget.npz", audio=ref["audio"])
    with pytest.raises(FormatError) as info:
        load_dataset(f"generic:{tmp_path / 'notarget.npz'}")
    assert info.value.key == "target"
    np.savez(tmp_path / "dtype.npz", **dict(ref, text=ref["text"].astype(str)))
    with pytest.raises(FormatError, match="dtype") as info:
        load_dataset(f"generic:{tmp_path / 'dtype.npz'}")
    assert info.value.key == "text"
    # the recorded protocol must be one the metrics know, for the data's task
    with pytest.raises(ConfigError, match="unknown metric protocol 'mosi'"):
        load_dataset(f"generic:{tmp_path / 'good.npz'}", protocol="mosi")
    # a protocol states the task; one for the other task than the task given is refused
    assert load_dataset(f"generic:{tmp_path / 'good.npz'}", protocol="mmsa").task == "regression"
    with pytest.raises(ConfigError, match="'mmsa' is for regression tasks, not classification"):
        load_dataset(f"generic:{tmp_path / 'good.npz'}", protocol="mmsa", task="classification")


# ------------------------------------------------------------------------------- info + CLI
def test_dataset_info_reports_modalities_and_splits(tmp_path):
    path, _ = fixtures.make_mmsa(tmp_path, aligned=False)
    info = dataset_info(f"mmsa:{path}")
    assert info["splits"] == {"train": 12, "valid": 5, "test": 6}
    assert info["modalities"]["audio"] == {
        "dim": 5,
        "seq_len": 12,
        "mean_length": pytest.approx(info["modalities"]["audio"]["mean_length"]),
    }
    assert info["modalities"]["text"]["dim"] == 16 and info["modalities"]["vision"]["seq_len"] == 15
    assert info["protocol"] == "mmsa" and info["neginf_by_modality"] == {"audio": 3, "vision": 0}
    assert "raw_text" in info["sample_meta"]
    json.dumps(info)  # plain data only


def test_parse_options_and_print(tmp_path, capsys):
    from infofusion.cli.datasets import _print_info, parse_options

    assert parse_options(["fold=2", "text=text_bert", "x=0.5", "flag=true", "n=none"]) == {
        "fold": 2,
        "text": "text_bert",
        "x": 0.5,
        "flag": True,
        "n": None,
    }
    path, _ = fixtures.make_mmsa(tmp_path, aligned=False)
    _print_info(dataset_info(f"mmsa:{path}"))
    out = capsys.readouterr().out
    assert "protocol=mmsa" in out and "train=12, valid=5, test=6" in out and "vision" in out


def test_datasets_cli(tmp_path):
    from typer.testing import CliRunner

    from infofusion.cli.main import app

    runner = CliRunner()
    out = runner.invoke(app, ["datasets", "list"])
    assert out.exit_code == 0, out.output
    for name in ("mmsa", "magbert", "mult", "mustard", "cremad", "generic"):
        assert name in out.output
    root, _ = fixtures.make_mustard(tmp_path)
    out = runner.invoke(
        app, ["datasets", "info", "--data", f"mustard:{root}", "-o", "fold=2", "--json"]
    )
    assert out.exit_code == 0, out.output
    info = json.loads(out.output)
    assert info["fold"] == 2 and info["modalities"]["audio"]["dim"] == 283
    assert sum(info["splits"].values()) == 20
    out = runner.invoke(app, ["datasets", "info", "--data", f"mustard:{root}"])
    assert out.exit_code == 0 and "video" in out.output and "splits:" in out.output


def test_datasets_cli_error_is_one_line(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from infofusion.cli.main import main; main()",
            "datasets",
            "info",
            "--data",
            f"mmsa:{tmp_path / 'missing.pkl'}",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_datasets_info_takes_the_spec_as_argument_or_option(tmp_path):
    from typer.testing import CliRunner

    from infofusion.cli.main import app

    runner = CliRunner()
    path, _ = fixtures.make_mmsa(tmp_path, aligned=False)
    by_arg = runner.invoke(app, ["datasets", "info", f"mmsa:{path}", "--json"])
    by_opt = runner.invoke(app, ["datasets", "info", "--data", f"mmsa:{path}", "--json"])
    assert by_arg.exit_code == 0 and by_opt.exit_code == 0, by_arg.output + by_opt.output
    assert json.loads(by_arg.output) == json.loads(by_opt.output)
    assert json.loads(by_arg.output)["splits"] == {"train": 12, "valid": 5, "test": 6}
    out = runner.invoke(app, ["datasets", "info", "digits", "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["n"] == 1797
    # the same spec twice is fine; two different specs or none are usage errors
    same = runner.invoke(app, ["datasets", "info", "digits", "--data", "digits", "--json"])
    assert same.exit_code == 0
    both = runner.invoke(app, ["datasets", "info", "digits", "--data", "uci_mfeat"])
    assert both.exit_code == 2 and "two dataset specs" in both.output
    neither = runner.invoke(app, ["datasets", "info"])
    assert neither.exit_code == 2 and "name the dataset" in neither.output
