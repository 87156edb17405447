"""MMSA feature pickles: values, lengths, -inf handling, text choice, protocols and errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from infofusion.data import load_dataset
from infofusion.errors import FormatError, UnsafePickleError

try:
    from . import fixtures
except ImportError:
    import fixtures

SPLITS = fixtures.MMSA_SPLITS


def _cat(data, key):
    return np.concatenate([np.asarray(data[s][key]) for s in SPLITS])


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("aligned", [True, False])
def test_values_match_the_file(tmp_path, aligned, protocol):
    path, data = fixtures.make_mmsa(tmp_path, aligned=aligned, protocol=protocol)
    expected_audio = _cat(data, "audio")  # -inf entries are still in the fixture's arrays
    ds = load_dataset(f"mmsa:{path}")
    assert ds.task == "regression" and ds.info["protocol"] == "mmsa"
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 12, "valid": 5, "test": 6}
    np.testing.assert_array_equal(ds.splits["valid"].numpy(), np.arange(12, 17))
    np.testing.assert_array_equal(ds.modality("text").numpy(), _cat(data, "text"))
    np.testing.assert_array_equal(ds.modality("vision").numpy(), _cat(data, "vision"))
    # MMSA sets -inf audio to 0: the 3 planted entries, and nothing else changes
    assert ds.info["neginf_replaced"] == 3
    assert ds.info["neginf_by_modality"]["audio"] == 3
    np.testing.assert_array_equal(
        ds.modality("audio").numpy(), np.where(np.isneginf(expected_audio), 0.0, expected_audio)
    )
    np.testing.assert_allclose(ds.target.numpy(), _cat(data, "regression_labels"))
    assert list(ds.ids) == [str(i) for i in _cat(data, "id")]
    assert list(ds.sample_meta["raw_text"]) == list(_cat(data, "raw_text"))
    # text lengths from the BERT attention mask; audio/vision lengths only in unaligned files
    np.testing.assert_array_equal(
        ds.lengths("text").numpy(), _cat(data, "text_bert")[:, 1, :].sum(axis=1)
    )
    if aligned:
        assert ds.lengths("audio") is None and ds.info["aligned"] == 1
    else:
        np.testing.assert_array_equal(ds.lengths("audio").numpy(), _cat(data, "audio_lengths"))
        np.testing.assert_array_equal(ds.lengths("vision").numpy(), _cat(data, "vision_lengths"))
        assert ds.info["aligned"] == 0


def test_text_bert_rows_become_a_sequence(tmp_path):
    path, data = fixtures.make_mmsa(tmp_path)
    ds = load_dataset(f"mmsa:{path}", text="text_bert")
    tb = _cat(data, "text_bert")  # (N, 3, Lt)
    np.testing.assert_array_equal(ds.modality("text").numpy(), tb.transpose(0, 2, 1))
    assert ds.describe()["modalities"]["text"]["dim"] == 3


def test_classification_labels(tmp_path):
    path, data = fixtures.make_mmsa(tmp_path)
    ds = load_dataset(f"mmsa:{path}", label="classification")
    assert ds.task == "classification" and ds.n_classes == 3
    assert ds.info["protocol"] == "classification"
    np.testing.assert_array_equal(ds.target.numpy(), _cat(data, "classification_labels"))


def test_sims_protocol_and_unimodal_labels(tmp_path):
    path, data = fixtures.make_mmsa(
        tmp_path, variant="sims", aligned=False, filename="unaligned_39.pkl"
    )
    ds = load_dataset(f"mmsa:{path}")
    assert ds.info["protocol"] == "sims" and ds.info["variant"] == "sims"
    np.testing.assert_allclose(ds.sample_meta["label_T"], _cat(data, "regression_labels_T"))
    # a MOSI-range label is out of range for SIMS
    data["test"]["regression_labels"][2] = 1.5
    fixtures.write_pickle(path, data)
    with pytest.raises(FormatError) as info:
        load_dataset(f"mmsa:{path}")
    assert info.value.key == "test/regression_labels" and "[-1, 1]" in str(info.value)


def _corrupt(tmp_path, mutate):
    path, data = fixtures.make_mmsa(tmp_path, aligned=False)
    mutate(data)
    fixtures.write_pickle(path, data)
    with pytest.raises(FormatError) as info:
        load_dataset(f"mmsa:{path}")
    assert info.value.path == str(path)
    return info.value


def test_missing_split(tmp_path):
    err = _corrupt(tmp_path, lambda d: d.pop("valid"))
    assert err.key == "valid" and "missing split" in str(err)


def test_missing_key(tmp_path):
    err = _corrupt(tmp_path, lambda d: d["test"].pop("audio"))
    assert err.key == "test/audio" and "missing key" in str(err)


def test_inconsistent_sample_counts(tmp_path):
    def mutate(d):
        d["train"]["vision"] = d["train"]["vision"][:-1]

    err = _corrupt(tmp_path, mutate)
    assert err.key == "train/vision" and "inconsistent sample counts" in str(err)


def test_inconsistent_feature_shapes(tmp_path):
    def mutate(d):
        d["test"]["audio"] = d["test"]["audio"][:, :, :3]

    assert _corrupt(tmp_path, mutate).key == "test/audio"


def test_wrong_dtype(tmp_path):
    def mutate(d):
        d["valid"]["audio"] = d["valid"]["audio"].astype(str)

    err = _corrupt(tmp_path, mutate)
    assert err.key == "valid/audio" and "dtype" in str(err)


def test_label_out_of_range(tmp_path):
    def mutate(d):
        d["train"]["regression_labels"][4] = 3.5

    err = _corrupt(tmp_path, mutate)
    assert err.key == "train/regression_labels" and "index 4" in str(err)


def test_nan_features_are_reported(tmp_path):
    def mutate(d):
        d["valid"]["text"][2, 0, 0] = np.nan

    err = _corrupt(tmp_path, mutate)
    assert err.key == "valid/text" and "sample 2" in str(err)


def test_truncated_file(tmp_path):
    path, _ = fixtures.make_mmsa(tmp_path)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FormatError) as info:
        load_dataset(f"mmsa:{path}")
    assert info.value.path == str(path) and "truncated" in str(info.value)


def test_unsafe_global_inside_a_split(tmp_path):
    marker = tmp_path / "pwned"
    path, data = fixtures.make_mmsa(tmp_path)
    import os

    data["train"]["annotations"] = fixtures._Reduce(os.system, (f"touch {marker}",))
    path.write_bytes(pickle.dumps(data, protocol=4))
    with pytest.raises(UnsafePickleError):
        load_dataset(f"mmsa:{path}")
    assert not marker.exists()


def test_zero_lengths_are_clipped_and_counted(tmp_path):
    path, data = fixtures.make_mmsa(tmp_path, aligned=False)
    data["train"]["audio_lengths"][0] = 0
    fixtures.write_pickle(path, data)
    ds = load_dataset(f"mmsa:{path}")
    assert int(ds.lengths("audio")[0]) == 1 and ds.info["lengths_clipped"] == 1


@pytest.mark.parametrize("protocol", [3, 5])
def test_lazy_path_reads_arrays_in_place(tmp_path, monkeypatch, protocol):
    """Large arrays are read from the file straight into the stacked arrays; same result."""
    from infofusion.data.formats import mmsa
    from infofusion.data.safe_pickle import LazyArray, safe_load

    # protocol 3 has no frames, so even these small arrays are "large" records
    path, data = fixtures.make_mmsa(tmp_path, aligned=False, protocol=protocol)
    if protocol == 3:
        assert isinstance(safe_load(path, lazy_min_bytes=64)["train"]["text"], LazyArray)
    eager = load_dataset(f"mmsa:{path}")
    monkeypatch.setattr(mmsa, "LAZY_BYTES", 64)
    lazy = load_dataset(f"mmsa:{path}")
    for m in ("text", "audio", "vision"):
        np.testing.assert_array_equal(lazy.modality(m).numpy(), eager.modality(m).numpy())
        if m != "text":
            np.testing.assert_array_equal(lazy.lengths(m).numpy(), eager.lengths(m).numpy())
    np.testing.assert_array_equal(lazy.target.numpy(), eager.target.numpy())
    assert lazy.info["neginf_replaced"] == 3
