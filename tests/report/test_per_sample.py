"""Per-sample output files: round trip, ground truth cut to the split, typed errors."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.errors import FormatError
from infofusion.report.per_sample import load_per_sample, save_per_sample


def test_round_trip_keeps_every_array(tmp_path):
    outs = {
        "index": np.array([4, 2, 7]),
        "y": np.array([1, 0, 1]),
        "prediction": np.arange(6, dtype=np.float32).reshape(3, 2),
        "unimodal": {"m1": np.ones((3, 2))},
        "diagnostics": {"gate": np.full((3, 4), 0.25)},
    }
    path = save_per_sample(tmp_path / "run", outs, "test", truth={"interaction": np.array(["r", "s", "u1"])})
    assert path.endswith(".npz")
    back = load_per_sample(path)
    assert back["split"] == "test"
    np.testing.assert_array_equal(back["index"], outs["index"])
    np.testing.assert_array_equal(back["prediction"], outs["prediction"])
    np.testing.assert_array_equal(back["unimodal"]["m1"], outs["unimodal"]["m1"])
    np.testing.assert_array_equal(back["diagnostics"]["gate"], outs["diagnostics"]["gate"])
    assert list(back["truth"]["interaction"]) == ["r", "s", "u1"]


def test_not_an_archive_is_a_format_error(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(FormatError, match="x.npz"):
        load_per_sample(bad)
    with pytest.raises(FormatError, match="missing.npz"):
        load_per_sample(tmp_path / "missing.npz")


def test_train_writes_per_sample_outputs_with_ground_truth(tmp_path):
    import infofusion as inf
    from infofusion.training import TrainConfig

    recs = inf.train("late", "synthetic:mixed", seeds=1, config=TrainConfig(epochs=1, progress=False),
                     per_sample_dir=tmp_path)
    back = load_per_sample(recs[0].extra["per_sample"])
    ds = inf.load_dataset("synthetic:mixed")
    test_idx = ds.indices("test").numpy()
    np.testing.assert_array_equal(np.sort(back["index"]), np.sort(test_idx))
    assert set(back["unimodal"]) == set(ds.names)
    truth = ds.sample_meta["interaction"][back["index"]]
    np.testing.assert_array_equal(back["truth"]["interaction"], truth)
