"""MUStARD original files (folds, speaker-independent split) and CREMA-D feature folders."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.data import load_dataset
from infofusion.data.formats.cremad import log_spectrogram
from infofusion.errors import ConfigError, FormatError, UnsafePickleError

try:
    from . import fixtures
except ImportError:
    import fixtures


# ------------------------------------------------------------------------------- MUStARD
@pytest.mark.parametrize("fold", [0, 3])
def test_mustard_fold_split_and_features(tmp_path, fold):
    root, ref = fixtures.make_mustard(tmp_path)
    ds = load_dataset(f"mustard:{root}", fold=fold)
    tr, te = ref["folds"][fold]
    np.testing.assert_array_equal(np.sort(ds.splits["test"].numpy()), te)
    train_valid = np.concatenate([ds.splits["train"].numpy(), ds.splits["valid"].numpy()])
    np.testing.assert_array_equal(np.sort(train_valid), tr)  # valid is carved from train
    assert ds.info["valid_seed"] == 0 and ds.info["fold"] == fold
    assert ds.info["protocol"] == "classification" and ds.info["f1_average"] == "weighted"
    assert list(ds.ids) == ref["ids"]
    for i, uid in enumerate(ref["ids"]):
        a = ref["audio"][uid]  # (283, T)
        assert int(ds.lengths("audio")[i]) == a.shape[1]
        np.testing.assert_allclose(ds.modality("audio")[i, : a.shape[1]].numpy(), a.T, rtol=1e-6)
        v = ref["video"][uid]
        assert int(ds.lengths("video")[i]) == len(v)
        np.testing.assert_array_equal(ds.modality("video")[i, : len(v)].numpy(), v)
        assert ds.target[i].item() == int(ref["meta"][uid]["sarcasm"])
        assert ds.sample_meta["raw_text"][i] == ref["meta"][uid]["utterance"]


def test_mustard_speaker_independent_and_mean_pool(tmp_path):
    root, ref = fixtures.make_mustard(tmp_path, layout="flat")
    ds = load_dataset(f"mustard:{root}", split="speaker_independent", pool="mean", valid_fraction=0)
    friends = [i for i, uid in enumerate(ref["ids"]) if ref["meta"][uid]["show"] == "FRIENDS"]
    np.testing.assert_array_equal(ds.splits["test"].numpy(), friends)
    assert "valid" not in ds.splits
    uid = ref["ids"][1]
    np.testing.assert_allclose(
        ds.modality("audio")[1].numpy(), ref["audio"][uid].mean(axis=1), rtol=1e-5
    )
    np.testing.assert_allclose(
        ds.modality("video")[1].numpy(), ref["video"][uid].mean(axis=0), rtol=1e-5
    )


def test_mustard_errors(tmp_path):
    root, ref = fixtures.make_mustard(tmp_path)
    with pytest.raises(ConfigError):
        load_dataset(f"mustard:{root}", fold=7)
    import h5py

    h5 = root / "data" / "features" / "utterances_final" / "resnet_pool5.hdf5"
    with h5py.File(h5, "a") as fh:
        del fh[ref["ids"][4]]
    with pytest.raises(FormatError) as info:
        load_dataset(f"mustard:{root}")
    assert info.value.key == ref["ids"][4] and info.value.path == str(h5)
    (root / "data" / "split_indices.p").unlink()
    with pytest.raises(FormatError, match="split_indices.p") as info:
        load_dataset(f"mustard:{root}")
    assert info.value.key == "split_indices.p"
    with pytest.raises(FormatError, match="no such file"):
        load_dataset(f"mustard:{root}", video_path=str(tmp_path / "nope.hdf5"))


def test_mustard_audio_pickle_is_loaded_safely(tmp_path):
    root, _ = fixtures.make_mustard(tmp_path)
    marker = tmp_path / "pwned"
    blob = fixtures.malicious_pickles(marker)["os.system/p2"]
    (root / "data" / "audio_features.p").write_bytes(blob)
    with pytest.raises(UnsafePickleError):
        load_dataset(f"mustard:{root}")
    assert not marker.exists()


# ------------------------------------------------------------------------------- CREMA-D
@pytest.mark.parametrize("audio_ext", [".npy", ".pkl"])
def test_cremad_layout(tmp_path, audio_ext):
    root, ref = fixtures.make_cremad(tmp_path, audio_ext=audio_ext)
    ds = load_dataset(f"cremad:{root}")
    clips = ref["clips"]["train"] + ref["clips"]["test"]
    assert list(ds.ids) == [c for c, _ in clips]
    codes = [fixtures.CREMAD_LABELS.index(lab) for _, lab in clips]
    np.testing.assert_array_equal(ds.target.numpy(), codes)
    assert ds.n_classes == 6 and ds.info["protocol"] == "classification"
    assert ds.modality("audio").shape == (48, 188, 257)  # time-major spectrogram
    c0 = clips[0][0]
    np.testing.assert_array_equal(ds.modality("audio")[0].numpy(), ref["audio"][c0].T)
    np.testing.assert_array_equal(ds.modality("visual")[0].numpy(), ref["visual"][c0])
    # test kept as shipped; valid carved from train, stratified, 1 per class here
    np.testing.assert_array_equal(ds.splits["test"].numpy(), np.arange(36, 48))
    valid = ds.splits["valid"].numpy()
    assert len(valid) == 6 and valid.max() < 36
    assert sorted(ds.target[valid].tolist()) == list(range(6))
    assert ds.info["valid_seed"] == 0 and ds.info["valid_fraction"] == 0.1


def test_cremad_valid_carving_is_seeded(tmp_path):
    root, _ = fixtures.make_cremad(tmp_path, spec_shape=(9, 7))
    a = load_dataset(f"cremad:{root}", seed=1).splits["valid"].numpy()
    b = load_dataset(f"cremad:{root}", seed=1).splits["valid"].numpy()
    c = load_dataset(f"cremad:{root}", seed=2).splits["valid"].numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_cremad_errors(tmp_path):
    root, ref = fixtures.make_cremad(tmp_path, spec_shape=(9, 7))
    clip = ref["clips"]["test"][2][0]
    (root / "visual" / f"{clip}.npy").unlink()
    with pytest.raises(FormatError) as info:
        load_dataset(f"cremad:{root}")
    assert info.value.key == clip
    with open(root / "test.csv", "a") as fh:
        fh.write("9999_XX_BOR_XX,BOR\n")
    with pytest.raises(FormatError, match="BOR") as info:
        load_dataset(f"cremad:{root}")
    assert info.value.key == "row 13"
    (root / "test.csv").unlink()
    with pytest.raises(FormatError, match="test.csv"):
        load_dataset(f"cremad:{root}")


def test_log_spectrogram_shape_and_peak():
    sr, k = 22050, 40
    t = np.arange(sr) / sr  # 1 s, tiled to 3 s as the reference does
    spec = log_spectrogram(0.5 * np.sin(2 * np.pi * (k * sr / 512) * t), sr)
    assert spec.shape == (257, 188)
    assert int(np.argmax(spec[:, 94])) == k  # a tone at bin k's frequency peaks at bin k


def test_cremad_from_wav(tmp_path):
    from scipy.io import wavfile

    root, ref = fixtures.make_cremad(tmp_path, n_train=12, n_test=6, spec_shape=(9, 7))
    (root / "AudioWAV").mkdir()
    rng = np.random.default_rng(0)
    for clip, _ in ref["clips"]["train"] + ref["clips"]["test"]:
        wavfile.write(
            root / "AudioWAV" / f"{clip}.wav",
            16000,
            (rng.normal(size=16000) * 3000).astype(np.int16),
        )
    ds = load_dataset(f"cremad:{root}", audio_dir="AudioWAV")
    assert ds.modality("audio").shape == (18, 188, 257)


def test_truncated_feature_files_name_the_file(tmp_path):
    root, _ = fixtures.make_mustard(tmp_path / "m")
    h5 = root / "data" / "features" / "utterances_final" / "resnet_pool5.hdf5"
    blob = h5.read_bytes()
    h5.write_bytes(blob[: len(blob) // 3])
    with pytest.raises(FormatError) as info:
        load_dataset(f"mustard:{root}")
    assert info.value.path == str(h5)
    root, ref = fixtures.make_cremad(tmp_path / "c", spec_shape=(9, 7))
    clip = ref["clips"]["train"][5][0]
    npy = root / "audio" / f"{clip}.npy"
    npy.write_bytes(npy.read_bytes()[:-20])
    with pytest.raises(FormatError) as info:
        load_dataset(f"cremad:{root}")
    assert info.value.path == str(npy)
