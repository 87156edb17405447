"""Loader options are checked against the loader's signature before it runs; generic's
relabel / protocol / task rules."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.data import check_options, load_dataset
from infofusion.errors import ConfigError, FormatError


def _loader(
    arg,
    *,
    n: int = 1,
    rate: float = 0.5,
    name: str | None = None,
    views: list[str] | str | None = None,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    clean: tuple[str, ...] = (),
    flag: bool = False,
    anything=None,
):
    return None


@pytest.mark.parametrize(
    "given, expected",
    [
        ({"n": 3}, {"n": 3}),
        ({"n": 3.0}, {"n": 3}),  # a whole float is an int
        ({"rate": 1}, {"rate": 1.0}),
        ({"name": None}, {"name": None}),
        ({"views": "a, b"}, {"views": ["a", "b"]}),  # list[str] | str: the list arm first
        ({"fractions": [0.5, 0.25, 0.25]}, {"fractions": (0.5, 0.25, 0.25)}),
        ({"clean": "audio,vision"}, {"clean": ("audio", "vision")}),
        ({"flag": True}, {"flag": True}),
        ({"anything": {"x": 1}}, {"anything": {"x": 1}}),  # unannotated: left alone
    ],
)
def test_values_are_converted_as_annotated(given, expected):
    out = check_options("the 'toy' loader", _loader, given)
    assert out == expected
    assert all(type(out[k]) is type(v) for k, v in expected.items())


@pytest.mark.parametrize(
    "given, match",
    [
        ({"m": 1}, "unknown option for the 'toy' loader: 'm' \\(accepted: n, rate, name"),
        ({"n": "3"}, "option 'n' of the 'toy' loader must be an integer, got '3'"),
        ({"n": 2.5}, "must be an integer"),
        ({"n": True}, "must be an integer"),  # a bool is not a count
        ({"rate": "fast"}, "'rate'.*a number"),
        ({"flag": "yes"}, "'flag'.*true or false"),
        ({"fractions": [0.5, 0.5]}, "'fractions'.*a list of 3 values"),
        ({"clean": [1, 2]}, "'clean'.*strings"),
        ({"name": 3}, "'name'.*a string or null"),
    ],
)
def test_bad_options_are_config_errors_naming_them(given, match):
    with pytest.raises(ConfigError, match=match):
        check_options("the 'toy' loader", _loader, given)


def test_loaders_taking_kwargs_check_the_rest_themselves():
    def loader(arg, seed: int = 0, **kw):
        return kw

    assert check_options("x", loader, {"extra": 1, "seed": 2.0}) == {"extra": 1, "seed": 2}


def test_every_registered_loader_refuses_unknown_options():
    from infofusion.data import available

    for name in available():
        arg = "synergy" if name == "synthetic" else "/nonexistent"  # (checked before options)
        with pytest.raises(ConfigError, match="bogus"):
            load_dataset(f"{name}:{arg}", bogus=1)


def _npz(tmp_path, target, **extra):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", a=rng.normal(size=(len(target), 3)), target=target, **extra)
    return f"generic:{tmp_path / 'd.npz'}"


def test_generic_relabel_maps_labels_in_sorted_order_and_records_them(tmp_path):
    target = np.array([1_000_000, 0, 7, 1_000_000, 0, 7] * 2)
    spec = _npz(tmp_path, target)
    with pytest.raises(FormatError, match="relabel"):
        load_dataset(spec)
    ds = load_dataset(spec, relabel=True)
    assert ds.info["classes"] == [0, 7, 1_000_000] and ds.n_classes == 3
    np.testing.assert_array_equal(ds.target.numpy(), [2, 0, 1, 2, 0, 1] * 2)
    strings = _npz(tmp_path, np.array(["pos", "neg", "neu"] * 4))
    ds = load_dataset(strings, relabel=True)
    assert ds.info["classes"] == ["neg", "neu", "pos"] and ds.target[:3].tolist() == [2, 0, 1]


def test_generic_protocol_states_the_task(tmp_path):
    spec = _npz(tmp_path, np.array([-1.0, 0.0, 1.0] * 4))
    with pytest.raises(FormatError, match="task="):
        load_dataset(spec)  # whole-number floats: ambiguous on their own
    assert load_dataset(spec, protocol="mmsa").task == "regression"
    assert load_dataset(spec, task="regression").info["protocol"] == "regression"
    ds = load_dataset(_npz(tmp_path, np.array([0.0, 1.0] * 6)), task="classification")
    assert ds.task == "classification" and ds.n_classes == 2


def test_generic_modalities_option_accepts_a_comma_separated_list(tmp_path):
    spec = _npz(tmp_path, np.arange(12) % 2, b=np.zeros((12, 2)), c=np.ones((12, 1)))
    assert load_dataset(spec, modalities="c, a").names == ("c", "a")
    assert load_dataset(spec, modalities=["b"]).names == ("b",)


def test_hdf5_with_a_user_block_passes_the_signature_check(tmp_path):
    import h5py

    path = tmp_path / "ub.h5"
    with h5py.File(path, "w", userblock_size=1024) as fh:  # the signature sits at byte 1024
        fh["a"] = np.arange(24.0).reshape(12, 2)
        fh["target"] = np.arange(12) % 2
    assert path.read_bytes()[:8] != b"\x89HDF\r\n\x1a\n"
    ds = load_dataset(f"generic:{path}")
    np.testing.assert_array_equal(ds.modality("a").numpy(), np.arange(24.0).reshape(12, 2))
