"""Fabricate small feature files in exactly the layouts the format loaders read.

Each ``make_*`` function writes files under a directory and returns the path plus the arrays
it wrote, so tests can compare what the loader returns with what is in the file. Also here: a
writer of Python-2-style pickles (as MUStARD ships them) and crafted malicious pickles.
"""

from __future__ import annotations

import csv
import json
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

MMSA_SPLITS = ("train", "valid", "test")


# --------------------------------------------------------------------------------------------
# MMSA
# --------------------------------------------------------------------------------------------
def mmsa_split(
    n: int,
    rng: np.random.Generator,
    *,
    aligned: bool,
    variant: str = "mosi",
    text_len: int = 8,
    offset: int = 0,
    dims: tuple[int, int, int] = (16, 5, 20),
) -> dict[str, Any]:
    """One MMSA split: BERT text, token rows, audio/vision (+ lengths when unaligned), labels."""
    dt, da, dv = dims
    la, lv = (text_len, text_len) if aligned else (12, 15)
    text_lengths = rng.integers(3, text_len + 1, n)
    mask = (np.arange(text_len)[None, :] < text_lengths[:, None]).astype(np.float64)
    ids = rng.integers(100, 30000, (n, text_len)) * mask
    text_bert = np.stack([ids, mask, np.zeros_like(mask)], axis=1)  # (N, 3, Lt)
    audio = rng.normal(size=(n, la, da)).astype(np.float32)
    vision = rng.normal(size=(n, lv, dv)).astype(np.float32)
    out: dict[str, Any] = {
        "raw_text": np.array([f"utterance {offset + i}" for i in range(n)], dtype=object),
        "id": np.array(
            [f"vid{(offset + i) // 3}$_${(offset + i) % 3}" for i in range(n)], dtype=object
        ),
        "text": rng.normal(size=(n, text_len, dt)).astype(np.float32),
        "text_bert": text_bert,
        "audio": audio,
        "vision": vision,
        "annotations": np.array(["Positive"] * n, dtype=object),
    }
    scale = 1.0 if variant == "sims" else 3.0
    reg = np.round(rng.uniform(-scale, scale, n), 1).astype(np.float32)
    out["regression_labels"] = reg
    out["classification_labels"] = np.where(reg < 0, 0, np.where(reg == 0, 1, 2)).astype(np.float32)
    if variant == "sims":
        for m in "TAV":
            out[f"regression_labels_{m}"] = np.round(rng.uniform(-1, 1, n), 1).astype(np.float32)
    if not aligned:
        a_len = rng.integers(1, la + 1, n)
        v_len = rng.integers(1, lv + 1, n)
        for arr, ln in ((audio, a_len), (vision, v_len)):  # zero padding at the end
            arr[np.arange(arr.shape[1])[None, :] >= ln[:, None]] = 0.0
        out["audio_lengths"] = a_len
        out["vision_lengths"] = v_len
    return out


def make_mmsa(
    directory: Path,
    *,
    aligned: bool = True,
    variant: str = "mosi",
    sizes: tuple[int, int, int] = (12, 5, 6),
    neginf: int = 3,
    seed: int = 0,
    filename: str | None = None,
    protocol: int = 4,
) -> tuple[Path, dict[str, Any]]:
    """An MMSA feature pickle; ``neginf`` audio entries of train are ``-inf`` (as in MOSI)."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    offset = 0
    for s, n in zip(MMSA_SPLITS, sizes, strict=True):
        data[s] = mmsa_split(n, rng, aligned=aligned, variant=variant, offset=offset)
        offset += n
    if neginf:
        flat = data["train"]["audio"].reshape(-1)
        flat[rng.choice(flat.size, neginf, replace=False)] = -np.inf
    fname = filename or ("aligned_50.pkl" if aligned else "unaligned_50.pkl")
    path = Path(directory) / fname
    write_pickle(path, data, protocol=protocol)
    return path, data


def write_pickle(path: Path, obj: Any, protocol: int = 4) -> Path:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)
    return path


# --------------------------------------------------------------------------------------------
# MAG-BERT
# --------------------------------------------------------------------------------------------
def make_magbert(
    directory: Path,
    *,
    sizes: tuple[int, int, int] = (10, 4, 5),
    visual_dim: int = 47,
    seed: int = 0,
) -> tuple[Path, dict[str, list]]:
    """``{"train", "dev", "test"}`` lists of ((words, visual, acoustic), label, segment_id)."""
    rng = np.random.default_rng(seed)
    data: dict[str, list] = {}
    k = 0
    for s, n in zip(("train", "dev", "test"), sizes, strict=True):
        items = []
        for _ in range(n):
            w = int(rng.integers(1, 9))
            words = [f"w{k}_{j}" for j in range(w)]
            visual = rng.normal(size=(w, visual_dim))
            acoustic = rng.normal(size=(w, 74))
            label = np.array([[round(float(rng.uniform(-3, 3)), 2)]])  # stored as (1, 1)
            items.append(((words, visual, acoustic), label, f"seg{k}[{k % 4}]"))
            k += 1
        data[s] = items
    path = Path(directory) / "mosi.pkl"
    write_pickle(path, data)
    return path, data


# --------------------------------------------------------------------------------------------
# MulT / MultiBench
# --------------------------------------------------------------------------------------------
def make_mult(
    directory: Path,
    *,
    filename: str = "mosi_data.pkl",
    sizes: tuple[int, int, int] = (10, 4, 5),
    binary: bool = False,
    seed: int = 0,
) -> tuple[Path, dict[str, Any]]:
    """``{split: {text (N, 50, 300), audio, vision, labels (N, 1, 1), id}}``."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    k = 0
    for s, n in zip(MMSA_SPLITS, sizes, strict=True):
        if binary:
            labels = np.array([i % 2 for i in range(n)], dtype=np.float32)
        else:
            labels = np.round(rng.uniform(-3, 3, n), 2).astype(np.float32)
        audio = rng.normal(size=(n, 50, 5)).astype(np.float32)
        audio[0, 0, 0] = -np.inf
        data[s] = {
            "text": rng.normal(size=(n, 50, 300)).astype(np.float32),
            "audio": audio,
            "vision": rng.normal(size=(n, 50, 20)).astype(np.float32),
            "labels": labels.reshape(n, 1, 1),
            "id": np.array([[f"vid{k + i}", str(i)] for i in range(n)]),
        }
        k += n
    path = Path(directory) / filename
    write_pickle(path, data)
    return path, data


# --------------------------------------------------------------------------------------------
# Python 2 pickles (MUStARD ships its audio features and folds this way)
# --------------------------------------------------------------------------------------------
def py2_pickle(obj: Any) -> bytes:
    """Protocol-2 pickle as Python 2 + numpy 1.x wrote it: ``str`` as 8-bit BINSTRING,
    ``numpy.core.multiarray._reconstruct`` and array data as a byte string. Reading it under
    Python 3 needs ``encoding="latin1"``.
    """
    out = bytearray(b"\x80\x02")
    _py2(obj, out)
    out += b"."
    return bytes(out)


def _binstring(b: bytes, out: bytearray) -> None:
    if len(b) < 256:
        out += b"U" + bytes([len(b)]) + b
    else:
        out += b"T" + struct.pack("<i", len(b)) + b


def _py2(obj: Any, out: bytearray) -> None:
    if obj is None:
        out += b"N"
    elif isinstance(obj, (bool, np.bool_)):
        out += b"\x88" if obj else b"\x89"
    elif isinstance(obj, (int, np.integer)):
        out += b"J" + struct.pack("<i", int(obj))
    elif isinstance(obj, float):
        out += b"G" + struct.pack(">d", obj)
    elif isinstance(obj, str):
        _binstring(obj.encode("latin1"), out)
    elif isinstance(obj, bytes):
        _binstring(obj, out)
    elif isinstance(obj, tuple):
        out += b"("
        for x in obj:
            _py2(x, out)
        out += b"t"
    elif isinstance(obj, list):
        out += b"]"
        if obj:
            out += b"("
            for x in obj:
                _py2(x, out)
            out += b"e"
    elif isinstance(obj, dict):
        out += b"}"
        if obj:
            out += b"("
            for k, v in obj.items():
                _py2(k, out)
                _py2(v, out)
            out += b"u"
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        out += b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n"
        _py2((0,), out)
        _binstring(b"b", out)
        out += b"\x87R"  # TUPLE3, REDUCE
        # state: (version, shape, dtype, is_fortran, raw bytes)
        out += b"("
        _py2(1, out)
        _py2(tuple(arr.shape), out)
        out += b"cnumpy\ndtype\n"
        _py2((arr.dtype.str[1:], 0, 1), out)
        out += b"R"
        order = "|" if arr.dtype.itemsize == 1 else "<"
        _py2((3, order, None, None, None, -1, -1, 0), out)
        out += b"b"  # BUILD the dtype
        _py2(False, out)
        _binstring(arr.astype(arr.dtype.newbyteorder("<")).tobytes(), out)
        out += b"t" + b"b"  # state tuple, BUILD the array
    else:  # pragma: no cover - fixture misuse
        raise TypeError(f"py2_pickle: unsupported {type(obj).__name__}")


# --------------------------------------------------------------------------------------------
# MUStARD
# --------------------------------------------------------------------------------------------
SHOWS = ("FRIENDS", "BBT", "SARCASMOHOLICS", "GOLDENGIRLS")


def make_mustard(
    directory: Path,
    *,
    n: int = 20,
    audio_dim: int = 283,
    video_dim: int = 16,
    seed: int = 0,
    layout: str = "repo",
) -> tuple[Path, dict[str, Any]]:
    """MUStARD's four files; ``layout="repo"`` puts them where the repository has them
    (``data/``, ``data/features/utterances_final/``), ``"flat"`` in one folder.
    """
    import h5py

    rng = np.random.default_rng(seed)
    root = Path(directory)
    data_dir = root / "data" if layout == "repo" else root
    feat_dir = data_dir / "features" / "utterances_final" if layout == "repo" else root
    feat_dir.mkdir(parents=True, exist_ok=True)
    ids = [f"{i // 3 + 1}_{100 + i}" for i in range(n)]
    meta: dict[str, Any] = {}
    for i, uid in enumerate(ids):
        meta[uid] = {
            "utterance": f"Oh great, another meeting {i}.",
            "speaker": f"SPK{i % 4}",
            "context": [f"context line {i}a", f"context line {i}b"],
            "context_speakers": ["A", "B"],
            "show": SHOWS[i % len(SHOWS)],
            "sarcasm": bool(i % 2),
        }
    with open(data_dir / "sarcasm_data.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
    audio = {uid: rng.normal(size=(audio_dim, int(rng.integers(10, 13)))) for uid in ids}
    (data_dir / "audio_features.p").write_bytes(py2_pickle(audio))
    video = {}
    with h5py.File(feat_dir / "resnet_pool5.hdf5", "w") as fh:
        for uid in ids:
            video[uid] = rng.normal(size=(int(rng.integers(3, 9)), video_dim)).astype(np.float32)
            fh.create_dataset(uid, data=video[uid])
    # 5 stratified folds of the json order (labels alternate, so taking every 5th is stratified)
    folds = []
    order = np.arange(n)
    for f in range(5):
        test = order[(order // 2) % 5 == f]
        folds.append((np.setdiff1d(order, test), test))
    (data_dir / "split_indices.p").write_bytes(py2_pickle(folds))
    return root, {"ids": ids, "meta": meta, "audio": audio, "video": video, "folds": folds}


# --------------------------------------------------------------------------------------------
# CREMA-D
# --------------------------------------------------------------------------------------------
CREMAD_LABELS = ("NEU", "HAP", "SAD", "FEA", "DIS", "ANG")


def make_cremad(
    directory: Path,
    *,
    n_train: int = 36,
    n_test: int = 12,
    spec_shape: tuple[int, int] = (257, 188),
    frames: int = 3,
    frame_dim: int = 8,
    audio_ext: str = ".npy",
    seed: int = 0,
) -> tuple[Path, dict[str, Any]]:
    """train.csv/test.csv (no header) + audio/{clip}.npy spectrograms + visual/{clip}.npy."""
    rng = np.random.default_rng(seed)
    root = Path(directory)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "visual").mkdir(exist_ok=True)
    clips: dict[str, list[tuple[str, str]]] = {"train": [], "test": []}
    k = 0
    for s, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            lab = CREMAD_LABELS[i % 6]
            clip = f"{1001 + k // 12}_{['DFA', 'IEO', 'ITS'][k % 3]}_{lab}_X{k}"
            clips[s].append((clip, lab))
            k += 1
        with open(root / f"{s}.csv", "w", newline="") as fh:
            csv.writer(fh).writerows(clips[s])
    audio, visual = {}, {}
    for clip, _ in clips["train"] + clips["test"]:
        audio[clip] = rng.normal(size=spec_shape).astype(np.float32)
        if audio_ext == ".npy":
            np.save(root / "audio" / f"{clip}.npy", audio[clip])
        else:
            write_pickle(root / "audio" / f"{clip}.pkl", audio[clip])
        visual[clip] = rng.normal(size=(frames, frame_dim)).astype(np.float32)
        np.save(root / "visual" / f"{clip}.npy", visual[clip])
    return root, {"clips": clips, "audio": audio, "visual": visual}


# --------------------------------------------------------------------------------------------
# Malicious pickles
# --------------------------------------------------------------------------------------------
class _Reduce:
    """Pickles as ``func(*args)``: what an attacker puts in a file."""

    def __init__(self, func: Any, args: tuple):
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return self.func, self.args


def malicious_pickles(marker: Path) -> dict[str, bytes]:
    """Pickles that, if loaded with a plain ``pickle.load``, create ``marker``.

    Keys name the attack; every payload is wrapped in an otherwise valid data dict (numpy
    arrays before it), so the refusal must come mid-stream.
    """
    import builtins
    import os
    import subprocess

    cmd = f"touch {marker}"
    write_code = f"open({str(marker)!r}, 'w').write('pwned')"
    arrays = {"audio": np.zeros((2, 3), np.float32), "labels": np.array([0.5, -1.0])}
    payloads = {
        "os.system": _Reduce(os.system, (cmd,)),
        "builtins.eval": _Reduce(builtins.eval, (write_code,)),
        "builtins.exec": _Reduce(builtins.exec, (write_code,)),
        "subprocess.call": _Reduce(subprocess.call, (["touch", str(marker)],)),
    }
    out = {}
    for proto in (2, 4):
        for name, payload in payloads.items():
            out[f"{name}/p{proto}"] = pickle.dumps(
                {"train": {**arrays, "x": payload}}, protocol=proto
            )
    # protocol 0 text pickle: GLOBAL + INST-free REDUCE
    out["os.system/p0"] = pickle.dumps(_Reduce(os.system, (cmd,)), protocol=0)
    # INST opcode (protocol 0 class instantiation): "i<module>\n<name>\n" calls the global
    out["INST os.system"] = b"(S'" + cmd.encode() + b"'\nios\nsystem\n."
    # getattr chain: builtins.getattr(os-module-like, "system") is refused at getattr itself
    out["builtins.getattr"] = b"\x80\x02cbuiltins\ngetattr\n" + b"cbuiltins\ndict\nU\x03get\x86R."
    # a numpy function that is not an array reconstructor
    out["numpy.load"] = b"\x80\x02cnumpy\nload\nU\x04/dev\x85R."
    # Python 2 module names
    out["__builtin__.eval"] = b"\x80\x02c__builtin__\neval\nU\x04None\x85R."
    # copyreg's reconstructor can instantiate classes: refused too
    out["copyreg._reconstructor"] = (
        b"\x80\x02ccopy_reg\n_reconstructor\ncbuiltins\nobject\ncbuiltins\nobject\nN\x87R."
    )
    return out


# --------------------------------------------------------------------------------------------
# One tiny instance per registered dataset loader (the loader contract test runs every entry)
# --------------------------------------------------------------------------------------------
def make_generic_npz(directory: Path, *, n: int = 30, seed: int = 0) -> Path:
    """One ``.npz`` with a padded sequence + its lengths, a vector modality, target, ids, split."""
    rng = np.random.default_rng(seed)
    path = Path(directory) / "features.npz"
    np.savez(
        path,
        audio=rng.normal(size=(n, 6, 4)).astype(np.float32),
        audio_lengths=rng.integers(1, 7, n),
        text=rng.normal(size=(n, 5)).astype(np.float32),
        target=np.arange(n) % 3,
        ids=np.array([f"s{i}" for i in range(n)]),
        split=np.array(["train"] * (n - 10) + ["valid"] * 4 + ["test"] * 6),
    )
    return path


def make_generic_dir(directory: Path, *, n: int = 24, seed: int = 0) -> Path:
    """One file per modality (``.npy`` vector, ``.npz`` sequence) and a regression target."""
    rng = np.random.default_rng(seed)
    root = Path(directory) / "generic_dir"
    root.mkdir()
    np.save(root / "vision.npy", rng.normal(size=(n, 3)).astype(np.float32))
    np.savez(root / "audio.npz", data=rng.normal(size=(n, 5, 2)), lengths=rng.integers(1, 6, n))
    np.savez(root / "target.npz", target=np.round(rng.uniform(-3, 3, n), 1))
    return root


# A builder takes a fresh directory and returns (dataset spec, loader options).
LoaderFixture = Any


def _in(directory: Path, make: Any, **kw: Any) -> Path:
    return make(directory, **kw)[0]


LOADER_FIXTURES: dict[str, list[LoaderFixture]] = {
    "synthetic": [
        lambda d: ("synthetic:mixed", {"n": 200}),
        lambda d: ("synthetic:synergy3", {"n": 150, "dim": 4}),
    ],
    "digits": [lambda d: ("digits", {})],
    "uci_mfeat": [lambda d: ("uci_mfeat:fou,kar", {})],
    "mmsa": [
        lambda d: (f"mmsa:{_in(d, make_mmsa)}", {}),
        lambda d: (f"mmsa:{_in(d, make_mmsa, aligned=False, variant='sims')}", {}),
        lambda d: (f"mmsa:{_in(d, make_mmsa)}", {"label": "classification", "text": "text_bert"}),
    ],
    "magbert": [lambda d: (f"magbert:{_in(d, make_magbert)}", {})],
    "mult": [
        lambda d: (f"mult:{_in(d, make_mult)}", {}),
        lambda d: (f"mult:{_in(d, make_mult, filename='sarcasm.pkl', binary=True)}", {}),
    ],
    "mustard": [
        lambda d: (f"mustard:{_in(d, make_mustard)}", {"fold": 1}),
        lambda d: (f"mustard:{_in(d, make_mustard, layout='flat')}", {"pool": "mean"}),
    ],
    "cremad": [lambda d: (f"cremad:{_in(d, make_cremad)}", {})],
    "generic": [
        lambda d: (f"generic:{make_generic_npz(d)}", {}),
        lambda d: (f"generic:{make_generic_dir(d)}", {"protocol": "mult", "valid_fraction": 0.25}),
    ],
}
