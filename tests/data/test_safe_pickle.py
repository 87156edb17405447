"""The safe unpickler: admits data, refuses every other global, and never runs the payload."""

from __future__ import annotations

import pickle
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infofusion.data.safe_pickle import (
    ALLOWED_GLOBALS,
    MAX_DEPTH,
    SafeUnpickler,
    safe_load,
    safe_loads,
)
from infofusion.errors import FormatError, PickleLimitError, UnsafePickleError

try:
    from . import fixtures
except ImportError:
    import fixtures


def _assert_same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    else:
        assert type(a) is type(b) and (a == b or (a != a and b != b))


DATA = {
    "f16": np.linspace(-1, 1, 7, dtype=np.float16),
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
    "f64_fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "strided": np.arange(20, dtype=np.int32)[::3],
    "big_endian": np.arange(5, dtype=">f8"),
    "ints": [np.arange(3, dtype=t) for t in (np.int8, np.int16, np.int64, np.uint8, np.uint32)],
    "bool": np.array([True, False]),
    "complex": np.array([1 + 2j, -1j]),
    "neginf": np.array([-np.inf, 0.0, np.nan]),
    "unicode": np.array(["ab", "héllo"]),
    "bytes_arr": np.array([b"x", b"yz"]),
    "object_str": np.array(["vid$_$1", "vid$_$2"], dtype=object),
    "zero_d": np.array(3.5),
    "empty": np.zeros((0, 4), np.float32),
    "scalars": [np.float32(1.5), np.float64(-2.0), np.int64(7), np.bool_(True)],
    "plain": {
        "s": "text",
        "b": b"\x00\xff",
        "ba": bytearray(b"ab"),
        "i": 2**70,
        "f": 0.1,
        "c": 1 + 1j,
        "n": None,
        "t": (1, (2, 3)),
        "set": {1, 2},
        "fs": frozenset("ab"),
    },
    "ordered": OrderedDict([("b", 1), ("a", 2)]),
}


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_round_trip_matches_plain_pickle(protocol):
    blob = pickle.dumps(DATA, protocol=protocol)
    _assert_same(pickle.loads(blob), safe_loads(blob))


plain_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(obj=plain_data, protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_plain_containers_round_trip(obj, protocol):
    blob = pickle.dumps(obj, protocol=protocol)
    assert safe_loads(blob) == pickle.loads(blob)


def test_numpy1_names_are_admitted():
    # numpy 1.x and Python 2 pickles say numpy.core.multiarray; rewrite a numpy-2 pickle that way
    blob = pickle.dumps({"a": np.arange(4.0), "s": np.float64(2.5)}, protocol=2)
    assert b"numpy._core.multiarray" in blob
    old = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    out = safe_loads(old)
    np.testing.assert_array_equal(out["a"], np.arange(4.0))
    assert out["s"] == 2.5 and isinstance(out["s"], np.float64)
    up = SafeUnpickler.__new__(SafeUnpickler)
    up._path = None
    assert up.find_class("numpy.core.numeric", "_frombuffer") is up.find_class(
        "numpy._core.numeric", "_frombuffer"
    )


def test_python2_pickle_needs_and_gets_latin1():
    obj = {"1_60": np.arange(6, dtype=np.float64).reshape(2, 3) * 0.37, "name": "café"}
    blob = fixtures.py2_pickle(obj)
    with pytest.raises(UnicodeDecodeError):  # why latin1 is needed: array bytes are py2 str
        pickle.loads(blob)
    reference = pickle.loads(blob, encoding="latin1")
    out = safe_loads(blob)
    _assert_same(reference, out)
    np.testing.assert_array_equal(out["1_60"], obj["1_60"])


def test_large_array_is_not_copied():
    # protocol <= 4: numpy keeps the unpickled bytes object as the array's buffer
    arr = np.arange(1_000_000, dtype=np.float32)
    out = safe_loads(pickle.dumps(arr, protocol=4))
    assert isinstance(out.base, bytes) and len(out.base) == arr.nbytes
    np.testing.assert_array_equal(out, arr)


def test_control_plain_pickle_does_run_the_payload(tmp_path):
    """The crafted pickles are real attacks: a plain pickle.load executes them."""
    marker = tmp_path / "pwned"
    blobs = fixtures.malicious_pickles(marker)
    pickle.loads(blobs["builtins.exec/p4"])
    assert marker.exists()
    marker.unlink()
    pickle.loads(blobs["os.system/p2"])
    assert marker.exists()


EXPECTED_GLOBAL = {
    "os.system": "system",
    "builtins.eval": "builtins.eval",
    "builtins.exec": "builtins.exec",
    "subprocess.call": "subprocess.call",
    "INST os.system": "os.system",
    "builtins.getattr": "builtins.getattr",
    "numpy.load": "numpy.load",
    "__builtin__.eval": "builtins.eval",
    "copyreg._reconstructor": "copyreg._reconstructor",
}


@pytest.mark.parametrize(
    "attack", sorted(fixtures.malicious_pickles(__import__("pathlib").Path("/x")))
)
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, attack):
    marker = tmp_path / "pwned"
    blob = fixtures.malicious_pickles(marker)[attack]
    path = tmp_path / "evil.pkl"
    path.write_bytes(blob)
    with pytest.raises(UnsafePickleError) as info:
        safe_load(path)
    # protocol <= 2 pickles write Python 2 module names (subprocess.call -> commands.call)
    expected = EXPECTED_GLOBAL[attack.split("/")[0]]
    assert info.value.global_name.rsplit(".", 1)[-1] == expected.rsplit(".", 1)[-1]
    assert str(path) in str(info.value) and info.value.global_name in str(info.value)
    assert not marker.exists()


def test_only_data_globals_are_allowed():
    names = {f"{m}.{n}" for m, n in ALLOWED_GLOBALS}
    assert not any(bad in names for bad in ("builtins.eval", "builtins.getattr", "os.system"))
    assert "numpy.core.multiarray._reconstruct" in names
    assert "numpy._core.multiarray._reconstruct" in names


def test_codecs_encode_only_for_text_codecs():
    # protocol 2 pickles of bytes go through _codecs.encode(text, "latin1")
    assert safe_loads(pickle.dumps(b"\x00\xfe", protocol=2)) == b"\x00\xfe"
    evil = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x0a\x00\x00\x00zlib_codec\x86R."
    with pytest.raises(UnsafePickleError):
        safe_loads(evil)


@pytest.mark.parametrize("cut", [1, 0.3, 0.7, -2])
def test_truncated_pickle_is_a_format_error(tmp_path, cut):
    blob = pickle.dumps({"train": {"audio": np.ones((50, 40), np.float32)}}, protocol=4)
    n = int(len(blob) * cut) if isinstance(cut, float) else (cut if cut > 0 else len(blob) + cut)
    path = tmp_path / "cut.pkl"
    path.write_bytes(blob[:n])
    with pytest.raises(FormatError) as info:
        safe_load(path)
    assert not isinstance(info.value, UnsafePickleError)
    assert info.value.path == str(path)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="cannot open"):
        safe_load(tmp_path / "nope.pkl")


# ------------------------------------------------------------------------------- lazy arrays
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_lazy_load_matches_eager(tmp_path, protocol):
    from infofusion.data.safe_pickle import LazyArray

    big = np.random.default_rng(0).normal(size=(40, 30, 20)).astype(np.float32)
    obj = {
        "train": {
            "text": big,
            "f": np.asfortranarray(big[:, :, 0].astype(np.float64)),
            "be": np.arange(20000, dtype=">f8"),
            "ids": np.array(["a", "b"], dtype=object),
            "blob": b"\x01" * 100_000,
            "small": np.arange(3),
        }
    }
    obj["train"]["alias"] = obj["train"]["text"]
    path = tmp_path / "x.pkl"
    fixtures.write_pickle(path, obj, protocol=protocol)
    out = safe_load(path, lazy_min_bytes=70_000)
    t = out["train"]
    if protocol >= 3:  # bytes records exist from protocol 3 on; big ones lie outside frames
        assert isinstance(t["text"], LazyArray) and t["text"].shape == big.shape
    assert t["alias"] is t["text"]  # memo references follow the replacement
    assert t["blob"] == obj["train"]["blob"] and isinstance(t["small"], np.ndarray)
    for k in ("text", "f", "be", "small"):
        np.testing.assert_array_equal(np.asarray(t[k]), obj["train"][k])
    if isinstance(t["text"], LazyArray):
        into = np.zeros((45, 30, 20), np.float64)  # dtype conversion into a larger buffer
        t["text"].read_into(into[5:])
        np.testing.assert_array_equal(into[5:], big)


def test_lazy_load_refuses_and_detects_truncation(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(fixtures.malicious_pickles(marker)["os.system/p4"])
    with pytest.raises(UnsafePickleError):
        safe_load(path, lazy_min_bytes=1)
    assert not marker.exists()
    blob = pickle.dumps({"a": np.ones(100_000, np.float32), "b": 1}, protocol=4)
    path.write_bytes(blob[: len(blob) - 1000])
    with pytest.raises(FormatError, match="truncated") as info:
        safe_load(path, lazy_min_bytes=1000)
    assert info.value.path == str(path)


# ----------------------------------------------------------------------------- work bounds
def _nested_lists(depth: int) -> bytes:
    """[[[...]]] ``depth`` lists deep, written opcode by opcode (pickle.dumps would recurse)."""
    return b"\x80\x04]" + b"(]" * (depth - 1) + b"e" * (depth - 1) + b"."


def _laughs(levels: int, width: int = 10) -> list:
    x: list = [0] * width
    for _ in range(levels - 1):
        x = [x] * width  # every level holds the previous one `width` times: width**levels leaves
    return x


def test_deep_nesting_is_refused_by_the_depth_limit(tmp_path):
    path = tmp_path / "deep.pkl"
    path.write_bytes(_nested_lists(5000))
    with pytest.raises(PickleLimitError) as info:
        safe_load(path)
    assert info.value.limit == "max_depth" and info.value.value == MAX_DEPTH
    assert str(path) in str(info.value) and "max_depth=100" in str(info.value)
    # the same file loads when a power user raises the limit, and is what it says
    out = safe_load(path, max_depth=6000)
    depth = 0
    while out:
        out, depth = out[0], depth + 1
    assert depth == 4999  # 5000 lists, the innermost empty


@pytest.mark.parametrize("lazy", [None, 1])
def test_depth_limit_is_exact(lazy, tmp_path):
    path = tmp_path / "d.pkl"
    path.write_bytes(_nested_lists(100))
    assert safe_load(path, lazy_min_bytes=lazy) == pickle.loads(_nested_lists(100))
    path.write_bytes(_nested_lists(101))
    with pytest.raises(PickleLimitError, match="max_depth=100"):
        safe_load(path, lazy_min_bytes=lazy)


def test_depth_through_shared_references_counts():
    # each level holds the previous twice: 150 levels deep although the graph is 150 nodes
    x: list = []
    for _ in range(150):
        x = [x, x]
    blob = pickle.dumps(x, protocol=4)
    with pytest.raises(PickleLimitError, match="max_depth"):
        safe_loads(blob)
    out = safe_loads(blob, max_depth=200, max_items=2**152)
    for _ in range(150):  # (comparing with == would walk 2**150 leaves)
        assert len(out) == 2 and out[0] is out[1]
        out = out[0]
    assert out == []


def test_shared_reference_amplification_is_refused_without_walking_it():
    # 10**8 leaves reached through 80 containers: a tree walk of it never ends in practice
    blob = pickle.dumps(_laughs(8), protocol=4)
    assert len(blob) < 500
    with pytest.raises(PickleLimitError) as info:
        safe_loads(blob, path="laughs.pkl")
    assert info.value.limit == "max_items" and "laughs.pkl" in str(info.value)
    # 10**6 leaves fit under the default limit (2 * 10**6 < MAX_ITEMS elements reached)
    assert safe_loads(pickle.dumps(_laughs(6), protocol=4)) == _laughs(6)


def test_items_limit_counts_every_element_reached():
    # [[0]*10]*10: 10 + 10 * 10 = 110 elements reached
    blob = pickle.dumps(_laughs(2), protocol=4)
    assert safe_loads(blob, max_items=110) == _laughs(2)
    with pytest.raises(PickleLimitError, match="max_items=109"):
        safe_loads(blob, max_items=109)
    with pytest.raises(PickleLimitError, match="max_items=99"):
        safe_loads(pickle.dumps(list(range(100))), max_items=99)


# a tuple whose hash visits 2**40 nodes: (1,), then 40 times DUP + TUPLE2 -> (t, t)
BOMB = b"K\x01\x85" + b"2\x86" * 40
HASH_BOMBS = {  # written opcode by opcode: building them in Python would hash the bomb
    "SETITEM": b"\x80\x04}" + BOMB + b"K\x01s.",
    "SETITEMS": b"\x80\x04}(" + BOMB + b"K\x01u.",
    "DICT": b"\x80\x02(" + BOMB + b"K\x01d.",
    "ADDITEMS": b"\x80\x04\x8f(" + BOMB + b"\x90.",
    "FROZENSET": b"\x80\x04(" + BOMB + b"\x91.",
    "set(list)": b"\x80\x02cbuiltins\nset\n(" + BOMB + b"l\x85R.",
    "dict(pairs)": b"\x80\x02cbuiltins\ndict\n(" + BOMB + b"K\x01\x86l\x85R.",
}


@pytest.mark.parametrize("opcode", sorted(HASH_BOMBS))
def test_hash_bomb_keys_are_refused_before_hashing(opcode):
    with pytest.raises(PickleLimitError, match="max_key_items"):
        safe_loads(HASH_BOMBS[opcode])
    # small tuple keys are data
    assert safe_loads(pickle.dumps({(1, ("a", 2.5)): 1, "k": 2})) == {(1, ("a", 2.5)): 1, "k": 2}


RANGE = b"cbuiltins\nrange\nJ\x00\xe1\xf5\x05\x85R"  # range(100000000)
ABUSE = {
    "list(range)": b"\x80\x04cbuiltins\nlist\n" + RANGE + b"\x85R.",
    "frozenset(range)": b"\x80\x04cbuiltins\nfrozenset\n" + RANGE + b"\x85R.",
    "bytes(int)": b"\x80\x04cbuiltins\nbytes\nJ\x00\xe1\xf5\x05\x85R.",
    "bytearray(int)": b"\x80\x04cbuiltins\nbytearray\nJ\x00\xe1\xf5\x05\x85R.",
    "str(list)": b"\x80\x04cbuiltins\nstr\n]\x85R.",
    "ndarray(shape)": b"\x80\x04cnumpy\nndarray\nJ\x00\xe1\xf5\x05\x85\x85R.",
    "_reconstruct(big)": b"\x80\x04cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
    b"J\x00\xe1\xf5\x05\x85C\x01b\x87R.",
    "dtype(list)": b"\x80\x04cnumpy\ndtype\n]\x85R.",
    "NEWOBJ tuple(range)": b"\x80\x04cbuiltins\ntuple\n" + RANGE + b"\x85\x81.",
    "BUILD on a dict": b"\x80\x04}}b.",
    "APPEND to a dict": b"\x80\x04}K\x01a.",
    "EXT1": b"\x80\x02\x82\x01.",
}


@pytest.mark.parametrize("name", sorted(ABUSE))
def test_admitted_globals_cannot_be_abused(name):
    with pytest.raises(FormatError) as info:
        safe_loads(ABUSE[name], path=f"{name}.pkl")
    assert f"{name}.pkl" in str(info.value)


def test_cycles_are_refused():
    a: list = []
    a.append(a)
    with pytest.raises(FormatError, match="cyclic"):
        safe_loads(pickle.dumps(a))
    arr = np.empty(1, dtype=object)
    arr[0] = arr
    with pytest.raises(FormatError, match="cyclic"):
        safe_loads(pickle.dumps(arr))


@pytest.mark.parametrize(
    "blob",
    [
        b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\x00\x00.",
        b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\x00\x00.",
    ],
)
def test_length_prefixes_beyond_the_file_are_refused_unread(tmp_path, blob):
    path = tmp_path / "len.pkl"
    path.write_bytes(blob)
    with pytest.raises(FormatError, match="truncated or corrupt: a (frame|bytes record) of"):
        safe_load(path)


def test_shared_data_within_limits_keeps_its_sharing(tmp_path):
    arr = np.arange(6.0)
    obj = {"a": arr, "b": arr, "rows": [[1, 2]] * 3}
    out = safe_loads(pickle.dumps(obj, protocol=4))
    assert out["a"] is out["b"] and out["rows"][0] is out["rows"][2]


def test_directory_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="directory"):
        safe_load(tmp_path)
