"""MAG-BERT (word-aligned lists) and MulT/MultiBench (padded arrays) pickles."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.data import load_dataset
from infofusion.errors import FormatError

try:
    from . import fixtures
except ImportError:
    import fixtures


# ------------------------------------------------------------------------------- MAG-BERT
def test_magbert_values_padding_and_lengths(tmp_path):
    path, data = fixtures.make_magbert(tmp_path)
    ds = load_dataset(f"magbert:{path}")
    items = data["train"] + data["dev"] + data["test"]
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 10, "valid": 4, "test": 5}
    assert ds.info["protocol"] == "magbert"
    t = max(len(it[0][0]) for it in items)
    assert ds.modality("vision").shape == (19, t, 47) and ds.modality("audio").shape == (19, t, 74)
    for i, ((words, visual, acoustic), label, seg) in enumerate(items):
        n = len(words)
        assert int(ds.lengths("audio")[i]) == n == int(ds.lengths("vision")[i])
        np.testing.assert_allclose(ds.modality("vision")[i, :n].numpy(), visual, rtol=1e-6)
        np.testing.assert_allclose(ds.modality("audio")[i, :n].numpy(), acoustic, rtol=1e-6)
        assert not ds.modality("audio")[i, n:].any()  # zero padding
        assert ds.target[i].item() == pytest.approx(float(label[0, 0]))
        assert ds.ids[i] == seg and ds.sample_meta["raw_text"][i] == " ".join(words)


def test_magbert_max_len_truncates(tmp_path):
    path, _ = fixtures.make_magbert(tmp_path)
    ds = load_dataset(f"magbert:{path}", max_len=3)
    assert ds.modality("audio").shape[1] == 3 and int(ds.lengths("audio").max()) == 3


def _magbert_error(tmp_path, mutate):
    path, data = fixtures.make_magbert(tmp_path)
    mutate(data)
    fixtures.write_pickle(path, data)
    with pytest.raises(FormatError) as info:
        load_dataset(f"magbert:{path}")
    assert info.value.path == str(path)
    return info.value


def test_magbert_dev_split_is_required(tmp_path):
    err = _magbert_error(tmp_path, lambda d: d.pop("dev"))
    assert err.key == "dev"


def test_magbert_malformed_sample(tmp_path):
    def mutate(d):
        d["train"][3] = ("words", 0.5)

    assert _magbert_error(tmp_path, mutate).key == "train[3]"


def test_magbert_unaligned_word_counts(tmp_path):
    def mutate(d):
        (w, v, a), y, s = d["test"][1]
        d["test"][1] = ((w, v, a[:-1] if len(a) > 1 else np.zeros((2, 74))), y, s)

    err = _magbert_error(tmp_path, mutate)
    assert err.key == "test[1]" and "word" in str(err)


def test_magbert_label_out_of_range(tmp_path):
    def mutate(d):
        (f, _, s) = d["dev"][0]
        d["dev"][0] = (f, np.array([[4.0]]), s)

    assert _magbert_error(tmp_path, mutate).key == "dev/label"


# ------------------------------------------------------------------------------- MulT
def test_mult_regression(tmp_path):
    path, data = fixtures.make_mult(tmp_path)
    ds = load_dataset(f"mult:{path}")
    assert ds.task == "regression" and ds.info["protocol"] == "mult"
    cat = {k: np.concatenate([data[s][k] for s in fixtures.MMSA_SPLITS]) for k in data["train"]}
    np.testing.assert_array_equal(ds.modality("text").numpy(), cat["text"])
    audio = np.where(np.isneginf(cat["audio"]), 0, cat["audio"])
    np.testing.assert_array_equal(ds.modality("audio").numpy(), audio)
    assert ds.info["neginf_replaced"] == 3
    np.testing.assert_allclose(ds.target.numpy(), cat["labels"].reshape(-1))
    assert ds.ids[0] == "vid0_0" and len(set(ds.ids)) == 19  # 2-d ids joined


@pytest.mark.parametrize("fname", ["sarcasm.pkl", "humor.pkl"])
def test_multibench_binary_files(tmp_path, fname):
    path, data = fixtures.make_mult(tmp_path, filename=fname, binary=True)
    ds = load_dataset(f"mult:{path}")
    assert ds.task == "classification" and ds.n_classes == 2
    assert ds.info["protocol"] == "classification"
    labels = np.concatenate([data[s]["labels"].reshape(-1) for s in fixtures.MMSA_SPLITS])
    np.testing.assert_array_equal(ds.target.numpy(), labels.astype(int))


def test_mult_minus_one_one_labels_map_to_binary(tmp_path):
    path, data = fixtures.make_mult(tmp_path, filename="humor.pkl", binary=True)
    for s in fixtures.MMSA_SPLITS:
        data[s]["labels"] = data[s]["labels"] * 2 - 1
    fixtures.write_pickle(path, data)
    ds = load_dataset(f"mult:{path}")
    assert ds.info["label_values"] == "-1/1"
    np.testing.assert_array_equal(
        ds.target.numpy()[:4], (data["train"]["labels"].reshape(-1)[:4] > 0).astype(int)
    )


def test_mult_multilabel_is_refused(tmp_path):
    path, data = fixtures.make_mult(tmp_path)
    data["valid"]["labels"] = np.zeros((4, 4, 2))
    fixtures.write_pickle(path, data)
    with pytest.raises(FormatError) as info:
        load_dataset(f"mult:{path}")
    assert info.value.key == "valid/labels"


def test_mult_missing_key_and_counts(tmp_path):
    path, data = fixtures.make_mult(tmp_path)
    data["test"].pop("vision")
    fixtures.write_pickle(path, data)
    with pytest.raises(FormatError) as info:
        load_dataset(f"mult:{path}")
    assert info.value.key == "test/vision"
    path, data = fixtures.make_mult(tmp_path)
    data["train"]["text"] = data["train"]["text"][:5]
    fixtures.write_pickle(path, data)
    with pytest.raises(FormatError, match="inconsistent sample counts") as info:
        load_dataset(f"mult:{path}")
    assert info.value.key == "train/text"
