"""The malformed and hostile inputs, one line each (see ``harness.py`` for the format).

Adding a case: append a line to the table of its area. ``f`` is the :class:`Files` helper
that fabricates the input under a fresh temporary folder.
"""

from __future__ import annotations

import numpy as np

from infofusion.errors import (
    ConfigError,
    DataValidationError,
    EstimationError,
    FormatError,
    OutputPathError,
    PickleLimitError,
    UnknownComponentError,
    UnsafePickleError,
)
from tests.fuzz.harness import USAGE, Case, api, cli


def load(spec: str, **kw):
    from infofusion.data import load_dataset

    return load_dataset(spec, **kw)


def dataset(modalities, target, **kw):
    from infofusion.data import MultimodalDataset

    return MultimodalDataset(modalities, target, **kw)


def unpickle(path, **kw):
    from infofusion.data.safe_pickle import safe_load

    return safe_load(path, **kw)


def estimate_mi(x, y, **kw):
    import infofusion

    return infofusion.estimate_mi(x, y, **kw)


def _laughs(levels: int) -> list:
    x: list = [0] * 10
    for _ in range(levels - 1):
        x = [x] * 10
    return x


def _deep(depth: int) -> bytes:
    return b"\x80\x04]" + b"(]" * (depth - 1) + b"e" * (depth - 1) + b"."


def _malicious(name: str):
    from pathlib import Path

    from tests.data import fixtures

    return fixtures.malicious_pickles(Path("/nonexistent/infofusion-fuzz-marker"))[name]


def _torch_checkpoint(f, name="last.pt"):
    import torch

    path = f.p(name)
    torch.save({"model": {"w": torch.zeros(2)}, "epoch": 3}, path)
    return path


# The tables keep one case per line: formatting would split them.
# fmt: off
X = np.random.default_rng(0).normal(size=(12, 3))
Y01 = np.arange(12) % 2

LOADERS: list[Case] = [
    # generic: every file type, missing / wrong kind / empty / garbage / truncated
    api("generic/missing-file", "loaders", lambda f: load(f"generic:{f.p('nope.npz')}"), FormatError, "nope.npz", "no such file"),
    api("generic/no-path", "loaders", lambda f: load("generic:"), ConfigError, "generic", "path"),
    api("generic/directory-named-npz", "loaders", lambda f: load(f"generic:{f.mkdir('dir.npz')}"), FormatError, "dir.npz"),
    api("generic/wrong-extension", "loaders", lambda f: load(f"generic:{f.write('d.txt', '1,2')}"), FormatError, "d.txt", "unsupported file type"),
    api("generic/pickle-given", "loaders", lambda f: load(f"generic:{f.pickle('d.pkl', {'a': 1})}"), FormatError, "d.pkl", "unsupported file type"),
    api("generic/checkpoint-given", "loaders", lambda f: load(f"generic:{_torch_checkpoint(f)}"), FormatError, "last.pt", "unsupported file type"),
    api("generic/zero-byte-npy", "loaders", lambda f: load(f"generic:{f.write('e.npy', b'')}"), FormatError, "e.npy", "empty"),
    api("generic/zero-byte-npz", "loaders", lambda f: load(f"generic:{f.write('e.npz', b'')}"), FormatError, "e.npz", "empty"),
    api("generic/zero-byte-h5", "loaders", lambda f: load(f"generic:{f.write('e.h5', b'')}"), FormatError, "e.h5", "empty"),
    api("generic/zero-byte-parquet", "loaders", lambda f: load(f"generic:{f.write('e.parquet', b'')}"), FormatError, "e.parquet", "empty"),
    api("generic/garbage-npz", "loaders", lambda f: load(f"generic:{f.write('g.npz', b'garbage' * 9)}"), FormatError, "g.npz", "not a numpy .npz"),
    api("generic/garbage-npy", "loaders", lambda f: load(f"generic:{f.write('g.npy', b'garbage' * 9)}"), FormatError, "g.npy", "not a numpy .npy"),
    api("generic/garbage-hdf5", "loaders", lambda f: load(f"generic:{f.write('g.hdf5', b'garbage' * 9)}"), FormatError, "g.hdf5", "not an HDF5"),
    api("generic/garbage-parquet", "loaders", lambda f: load(f"generic:{f.write('g.parquet', b'garbage' * 9)}"), FormatError, "g.parquet", "not a parquet"),
    api("generic/pickle-named-npy", "loaders", lambda f: load(f"generic:{f.pickle('p.npy', [1, 2])}"), FormatError, "p.npy", "not a numpy .npy"),
    api("generic/truncated-npz", "loaders", lambda f: load(f"generic:{f.cut(f.npz('t.npz'))}"), FormatError, "cut_t.npz"),
    api("generic/truncated-npy", "loaders", lambda f: load(f"generic:{f.cut(f.npy('t.npy', np.zeros((50, 4))))}"), FormatError, "cut_t.npy"),
    api("generic/truncated-h5", "loaders", lambda f: load(f"generic:{f.cut(f.h5('t.h5'))}"), FormatError, "cut_t.h5"),
    api("generic/truncated-parquet", "loaders", lambda f: load(f"generic:{f.cut(f.parquet('t.parquet'))}"), FormatError, "cut_t.parquet"),
    api("generic/object-array", "loaders", lambda f: load(f"generic:{f.npz(ids=np.array(['x'] * 12, dtype=object))}"), FormatError, "d.npz", "object array"),
    # generic: wrong keys, dtypes, shapes, counts, values
    api("generic/no-target", "loaders", lambda f: load(f"generic:{f.npz(target=None)}"), FormatError, "d.npz", "target"),
    api("generic/target-strings", "loaders", lambda f: load(f"generic:{f.npz(target=np.array(['x'] * 12))}"), FormatError, "d.npz", "target", "dtype"),
    api("generic/modality-strings", "loaders", lambda f: load(f"generic:{f.npz(a=np.array(['x'] * 12))}"), FormatError, "d.npz", "'a'", "dtype"),
    api("generic/modality-4d", "loaders", lambda f: load(f"generic:{f.npz(a=np.zeros((12, 2, 2, 2)))}"), FormatError, "'a'", "shape (12, 2, 2, 2)"),
    api("generic/modality-empty", "loaders", lambda f: load(f"generic:{f.npz(a=np.zeros((12, 0)))}"), FormatError, "'a'", "empty"),
    api("generic/count-mismatch", "loaders", lambda f: load(f"generic:{f.npz(b=np.zeros((10, 2)))}"), FormatError, "'b'", "10 rows"),
    api("generic/ids-count", "loaders", lambda f: load(f"generic:{f.npz(ids=np.array(['x', 'y']))}"), FormatError, "ids", "2 rows"),
    api("generic/duplicate-ids", "loaders", lambda f: load(f"generic:{f.npz(ids=np.array(['x'] * 12))}"), FormatError, "d.npz", "not unique"),
    api("generic/unknown-split-name", "loaders", lambda f: load(f"generic:{f.npz(split=np.array(['train'] * 8 + ['validation'] * 4))}"), FormatError, "'validation'"),
    api("generic/no-train-split", "loaders", lambda f: load(f"generic:{f.npz(split=np.array(['valid'] * 6 + ['test'] * 6))}"), FormatError, "'train' split"),
    api("generic/nan-feature", "loaders", lambda f: load(f"generic:{f.npz(a=np.where(np.eye(12, 3) > 0, np.nan, 0.0))}"), FormatError, "'a'", "NaN"),
    api("generic/inf-feature", "loaders", lambda f: load(f"generic:{f.npz(b=np.full((12, 2), np.inf))}"), FormatError, "'b'", "inf"),
    api("generic/nan-target", "loaders", lambda f: load(f"generic:{f.npz(target=np.r_[np.nan, np.linspace(0, 1, 11)])}"), FormatError, "d.npz", "non-finite"),
    api("generic/sparse-labels", "loaders", lambda f: load(f"generic:{f.npz(target=(np.arange(12) % 2) * 1_000_000)}"), FormatError, "1000000", "relabel"),
    api("generic/negative-labels", "loaders", lambda f: load(f"generic:{f.npz(target=np.arange(12) % 2 - 1)}", task="classification"), FormatError, "-1", ">= 0"),
    api("generic/single-class", "loaders", lambda f: load(f"generic:{f.npz(target=np.zeros(12, int))}"), FormatError, "d.npz", "at least 2 classes"),
    api("generic/ambiguous-float-labels", "loaders", lambda f: load(f"generic:{f.npz(target=(np.arange(12) % 2).astype(float))}"), FormatError, "d.npz", "task="),
    api("generic/lengths-out-of-range", "loaders", lambda f: load(f"generic:{f.npz(a=np.zeros((12, 4, 2)), a_lengths=np.full(12, 9))}"), FormatError, "'a'", "length 9"),
    api("generic/dir-no-target", "loaders", lambda f: load(f"generic:{f.npy('lay/a.npy', X).parent}"), FormatError, "target"),
    api("generic/dir-empty-modality-file", "loaders", lambda f: (f.npy("lay/target.npy", Y01), load(f"generic:{f.write('lay/a.npy', b'').parent}")), FormatError, "a.npy", "empty"),
    # generic: options
    api("generic/unknown-option", "loaders", lambda f: load(f"generic:{f.npz()}", bogus=1), ConfigError, "'bogus'", "accepted", "relabel"),
    api("generic/unknown-modality", "loaders", lambda f: load(f"generic:{f.npz()}", modalities="a,zz"), ConfigError, "'zz'", "available: a, b"),
    api("generic/bad-task", "loaders", lambda f: load(f"generic:{f.npz()}", task="cls"), ConfigError, "'cls'", "task"),
    api("generic/unknown-protocol", "loaders", lambda f: load(f"generic:{f.npz()}", protocol="nosuch"), ConfigError, "'nosuch'", "available"),
    api("generic/protocol-task-clash", "loaders", lambda f: load(f"generic:{f.npz()}", task="classification", protocol="mmsa"), ConfigError, "'mmsa'", "regression"),
    api("generic/valid-fraction", "loaders", lambda f: load(f"generic:{f.npz()}", valid_fraction=1.5), ConfigError, "valid_fraction", "1.5"),
    api("generic/seed-type", "loaders", lambda f: load(f"generic:{f.npz()}", seed="abc"), ConfigError, "'seed'", "integer", "'abc'"),
    api("generic/relabel-regression", "loaders", lambda f: load(f"generic:{f.npz()}", relabel=True, task="regression"), ConfigError, "relabel"),
    # the field's formats
    api("mmsa/missing-file", "loaders", lambda f: load(f"mmsa:{f.p('none.pkl')}"), FormatError, "none.pkl", "no such file"),
    api("mmsa/directory", "loaders", lambda f: load(f"mmsa:{f.mkdir('somedir')}"), FormatError, "somedir", "expects a file"),
    api("mmsa/garbage", "loaders", lambda f: load(f"mmsa:{f.write('g.pkl', b'not a pickle at all')}"), FormatError, "g.pkl", "not a pickle"),
    api("mmsa/truncated", "loaders", lambda f: load(f"mmsa:{f.cut(f.mmsa())}"), FormatError, "cut_aligned_50.pkl"),
    api("mmsa/npz-given", "loaders", lambda f: load(f"mmsa:{f.npz()}"), FormatError, "d.npz", "zip archive", "not a pickle"),
    api("mmsa/checkpoint-given", "loaders", lambda f: load(f"mmsa:{_torch_checkpoint(f)}"), FormatError, "last.pt", "torch checkpoint"),
    api("mmsa/missing-split", "loaders", lambda f: load(f"mmsa:{f.mmsa(lambda d: d.pop('test'))}"), FormatError, "'test'", "missing split"),
    api("mmsa/missing-key", "loaders", lambda f: load(f"mmsa:{f.mmsa(lambda d: d['train'].pop('audio'))}"), FormatError, "train/audio"),
    api("mmsa/label-out-of-range", "loaders", lambda f: load(f"mmsa:{f.mmsa(lambda d: d['valid']['regression_labels'].__setitem__(0, 5.0))}"), FormatError, "valid/regression_labels", "outside [-3, 3]"),
    api("mmsa/wrong-dtype", "loaders", lambda f: load(f"mmsa:{f.mmsa(lambda d: d['train'].__setitem__('vision', np.full((6, 8, 20), 'x')))}"), FormatError, "train/vision", "dtype"),
    api("mmsa/count-mismatch", "loaders", lambda f: load(f"mmsa:{f.mmsa(lambda d: d['test'].__setitem__('audio', d['test']['audio'][:2]))}"), FormatError, "test/audio", "inconsistent"),
    api("mmsa/nan-feature", "loaders", lambda f: load(f"mmsa:{f.mmsa(lambda d: d['test']['vision'].__setitem__((1, 0, 0), np.nan))}"), FormatError, "test/vision", "NaN"),
    api("mmsa/bad-text-option", "loaders", lambda f: load(f"mmsa:{f.mmsa()}", text="nope"), ConfigError, "'nope'", "text"),
    api("mmsa/unknown-option", "loaders", lambda f: load(f"mmsa:{f.mmsa()}", fold=2), ConfigError, "'fold'", "accepted"),
    api("mult/multi-label", "loaders", lambda f: load(f"mult:{f.mult(lambda d: d['train'].__setitem__('labels', np.zeros((6, 1, 4))))}"), FormatError, "train/labels", "multi-label"),
    api("mult/label-out-of-range", "loaders", lambda f: load(f"mult:{f.mult(lambda d: d['test']['labels'].__setitem__((0, 0, 0), 9.0))}"), FormatError, "test/labels", "9"),
    api("mult/missing-key", "loaders", lambda f: load(f"mult:{f.mult(lambda d: d['valid'].pop('vision'))}"), FormatError, "valid/vision"),
    api("mult/bad-task", "loaders", lambda f: load(f"mult:{f.mult()}", task="ranking"), ConfigError, "'ranking'"),
    api("magbert/missing-dev", "loaders", lambda f: load(f"magbert:{f.magbert(lambda d: d.pop('dev'))}"), FormatError, "'dev'", "missing split"),
    api("magbert/malformed-sample", "loaders", lambda f: load(f"magbert:{f.magbert(lambda d: d['train'].__setitem__(2, ('oops',)))}"), FormatError, "train[2]"),
    api("magbert/unaligned-words", "loaders", lambda f: load(f"magbert:{f.magbert(lambda d: d['test'].__setitem__(0, ((['w'], np.zeros((2, 47)), np.zeros((2, 74))), 0.5, 's')))}"), FormatError, "test[0]", "word"),
    api("magbert/max-len-type", "loaders", lambda f: load(f"magbert:{f.magbert()}", max_len="long"), ConfigError, "'max_len'", "'long'"),
    api("mustard/not-a-directory", "loaders", lambda f: load(f"mustard:{f.write('m.json', '{}')}"), FormatError, "m.json", "directory"),
    api("mustard/missing-files", "loaders", lambda f: load(f"mustard:{f.mkdir('empty_mustard')}"), FormatError, "sarcasm_data.json"),
    api("mustard/fold-out-of-range", "loaders", lambda f: load(f"mustard:{f.mustard()}", fold=7), ConfigError, "fold", "7"),
    api("mustard/json-is-a-directory", "loaders", lambda f: load(f"mustard:{f.mustard()}", json_path=str(f.mkdir("jdir"))), FormatError, "jdir", "Is a directory"),
    api("mustard/bad-split-option", "loaders", lambda f: load(f"mustard:{f.mustard()}", split="random"), ConfigError, "'random'"),
    api("cremad/missing-csv", "loaders", lambda f: load(f"cremad:{f.mkdir('cr')}"), FormatError, "train.csv"),
    api("cremad/binary-csv", "loaders", lambda f: (f.write("crb/train.csv", b"\xff\xfe\x00\x81" * 20), load(f"cremad:{f.p('crb')}")), FormatError, "train.csv", "csv"),
    api("cremad/unknown-label", "loaders", lambda f: (f.write("crl/train.csv", "clip1,BORED\n"), load(f"cremad:{f.p('crl')}")), FormatError, "BORED", "row 1"),
    api("cremad/valid-fraction", "loaders", lambda f: load(f"cremad:{f.cremad()}", valid_fraction=2), ConfigError, "valid_fraction"),
]

SPECS: list[Case] = [
    api("spec/unknown-loader", "dataset-specs", lambda f: load("nosuch:x"), UnknownComponentError, "'nosuch'", "available"),
    api("spec/misspelt-loader", "dataset-specs", lambda f: load("synthtic:synergy"), UnknownComponentError, "'synthtic'", "did you mean"),
    api("spec/empty", "dataset-specs", lambda f: load(""), ConfigError, "non-empty"),
    api("spec/not-a-string", "dataset-specs", lambda f: load(None), ConfigError, "None"),
    api("spec/synthetic-unknown-task", "dataset-specs", lambda f: load("synthetic:synergyy"), ConfigError, "'synergyy'", "available"),
    api("spec/synthetic-unknown-option", "dataset-specs", lambda f: load("synthetic:synergy", bogus=1), ConfigError, "bogus"),
    api("spec/synthetic-n-type", "dataset-specs", lambda f: load("synthetic:synergy", n="many"), ConfigError, "'n'", "'many'"),
    api("spec/synthetic-n-small", "dataset-specs", lambda f: load("synthetic:synergy", n=5), ConfigError, "n must be at least 20"),
    api("spec/synthetic-noise", "dataset-specs", lambda f: load("synthetic:synergy", noise=-1), ConfigError, "noise", "-1"),
    api("spec/synthetic-seed", "dataset-specs", lambda f: load("synthetic:synergy", seed=-3), ConfigError, "seed", "-3"),
    api("spec/synthetic-fractions", "dataset-specs", lambda f: load("synthetic:synergy", fractions=[0.5, 0.5]), ConfigError, "fractions"),
    api("spec/synthetic-proportions", "dataset-specs", lambda f: load("synthetic:mixed", proportions={"xor": 1}), ConfigError, "proportions", "xor"),
    api("spec/digits-argument", "dataset-specs", lambda f: load("digits:top"), ConfigError, "'top'"),
    api("spec/digits-fractions", "dataset-specs", lambda f: load("digits", fractions=(0.5, 0.6, 0.1)), ConfigError, "do not sum to 1"),
    api("spec/digits-unknown-option", "dataset-specs", lambda f: load("digits", n=10), ConfigError, "'n'", "accepted: seed, fractions"),
    api("spec/uci-unknown-view", "dataset-specs", lambda f: load("uci_mfeat:fou,zz"), ConfigError, "'zz'", "available"),
]

PICKLES: list[Case] = [
    *[
        api(f"pickle/malicious-{name.replace(' ', '-').replace('/', '-')}", "pickles",
            lambda f, name=name: unpickle(f.write("evil.pkl", _malicious(name))), UnsafePickleError, "evil.pkl", "refused")  # fmt: skip
        for name in ("os.system/p2", "os.system/p4", "builtins.eval/p4", "builtins.exec/p2", "subprocess.call/p4",
                     "os.system/p0", "INST os.system", "builtins.getattr", "numpy.load", "copyreg._reconstructor")  # fmt: skip
    ],
    api("pickle/malicious-via-mmsa", "pickles", lambda f: load(f"mmsa:{f.write('evil.pkl', _malicious('os.system/p4'))}"), UnsafePickleError, "evil.pkl", "system"),
    api("pickle/deep-5000", "pickles", lambda f: unpickle(f.write("deep.pkl", _deep(5000))), PickleLimitError, "deep.pkl", "max_depth=100"),
    api("pickle/deep-via-mmsa", "pickles", lambda f: load(f"mmsa:{f.write('deep.pkl', _deep(5000))}"), PickleLimitError, "deep.pkl", "max_depth"),
    api("pickle/shared-refs-1e8", "pickles", lambda f: unpickle(f.pickle("laughs.pkl", _laughs(8))), PickleLimitError, "laughs.pkl", "max_items"),
    api("pickle/shared-refs-via-magbert", "pickles", lambda f: load(f"magbert:{f.pickle('laughs.pkl', {'train': _laughs(8)})}"), PickleLimitError, "laughs.pkl", "max_items"),
    api("pickle/wide", "pickles", lambda f: unpickle(f.pickle("wide.pkl", list(range(2000))), max_items=1000), PickleLimitError, "wide.pkl", "max_items=1000"),
    api("pickle/hash-bomb-key", "pickles", lambda f: unpickle(f.write("bomb.pkl", b"\x80\x04}" + b"K\x01\x85" + b"2\x86" * 40 + b"K\x01s.")), PickleLimitError, "bomb.pkl", "max_key_items"),
    api("pickle/list-of-range", "pickles", lambda f: unpickle(f.write("range.pkl", b"\x80\x04cbuiltins\nlist\ncbuiltins\nrange\nJ\x00\xe1\xf5\x05\x85R\x85R.")), UnsafePickleError, "range.pkl", "range"),
    api("pickle/ndarray-alloc", "pickles", lambda f: unpickle(f.write("alloc.pkl", b"\x80\x04cnumpy\nndarray\nJ\x00\xe1\xf5\x05\x85\x85R.")), UnsafePickleError, "alloc.pkl", "ndarray"),
    api("pickle/cycle", "pickles", lambda f: unpickle(f.write("cycle.pkl", b"\x80\x02]q\x00h\x00a.")), FormatError, "cycle.pkl", "cyclic"),
    api("pickle/huge-length-prefix", "pickles", lambda f: unpickle(f.write("len.pkl", b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\x00\x00.")), FormatError, "len.pkl", "bytes record"),
    api("pickle/truncated", "pickles", lambda f: unpickle(f.cut(f.pickle("t.pkl", {"a": np.ones((40, 40))}))), FormatError, "cut_t.pkl", "truncated"),
    api("pickle/non-pickle-bytes", "pickles", lambda f: unpickle(f.write("text.pkl", "hello, world\n")), FormatError, "text.pkl"),
    api("pickle/empty-file", "pickles", lambda f: unpickle(f.write("empty.pkl", b"")), FormatError, "empty.pkl"),
    api("pickle/directory", "pickles", lambda f: unpickle(f.mkdir("adir.pkl")), FormatError, "adir.pkl", "directory"),
    api("pickle/missing", "pickles", lambda f: unpickle(f.p("gone.pkl")), FormatError, "gone.pkl", "cannot open"),
    api("pickle/checkpoint-as-pickle", "pickles", lambda f: unpickle(_torch_checkpoint(f)), FormatError, "last.pt", "not a pickle"),
    api("pickle/npy-as-pickle", "pickles", lambda f: unpickle(f.npy("arr.npy", X)), FormatError, "arr.npy", "numpy.load"),
    api("pickle/unknown-opcode", "pickles", lambda f: unpickle(f.write("op.pkl", b"\x80\x04\xff.")), FormatError, "op.pkl", "0xff"),
]

CONTAINER: list[Case] = [
    api("container/ragged-modality", "container", lambda f: dataset({"a": [[1.0, 2.0], [3.0]]}, [0, 1]), DataValidationError, "modality 'a'", "array"),
    api("container/ragged-target", "container", lambda f: dataset({"a": X[:2]}, [[0], [1, 1]]), DataValidationError, "target"),
    api("container/string-features", "container", lambda f: dataset({"a": [["x"], ["y"]]}, [0, 1]), DataValidationError, "modality 'a'", "numeric"),
    api("container/count-mismatch", "container", lambda f: dataset({"a": X, "b": X[:5]}, Y01), DataValidationError, "modality 'b'", "5 samples"),
    api("container/no-samples", "container", lambda f: dataset({"a": X[:0]}, Y01[:0]), DataValidationError, "no samples"),
    api("container/sparse-labels", "container", lambda f: dataset({"a": X}, Y01 * 1_000_000), DataValidationError, "1000000", "0..C-1"),
    api("container/ambiguous-float-labels", "container", lambda f: dataset({"a": X}, Y01.astype(float)), DataValidationError, "task='classification'", "task='regression'"),
    api("container/fractional-class-labels", "container", lambda f: dataset({"a": X}, Y01 + 0.5, task="classification"), DataValidationError, "0.5", "integer class"),
    api("container/unknown-split", "container", lambda f: dataset({"a": X}, Y01).require_split("valid", "for model selection"), DataValidationError, "'valid'", "train=12"),
    api("container/select-unknown-modality", "container", lambda f: dataset({"m1": X, "m2": X}, Y01).select(["m1", "zz"]), DataValidationError, "'zz'", "available: m1, m2"),
    api("container/fractions", "container", lambda f: dataset({"a": X}, Y01).random_splits((0.9, 0.2, 0.1)), ConfigError, "do not sum to 1"),
    api("container/batch-size-zero", "container", lambda f: next(dataset({"a": X}, Y01).batches(batch_size=0)), ConfigError, "batch_size", "0"),
    api("container/duplicate-ids", "container", lambda f: dataset({"a": X}, Y01, ids=["s"] * 12), DataValidationError, "'s'", "not unique"),
    api("container/bad-lengths", "container", lambda f: dataset({"a": np.zeros((12, 4, 2))}, Y01, lengths={"a": np.full(12, 5)}), DataValidationError, "modality 'a'", "length 5"),
    api("container/split-out-of-range", "container", lambda f: dataset({"a": X}, Y01, splits={"train": np.arange(20)}), DataValidationError, "'train'", "outside"),
]

MI_INPUT: list[Case] = [
    api("mi/ragged-x", "mi-input", lambda f: estimate_mi([[1.0, 2.0], [3.0]], [1.0, 2.0], estimator="gaussian"), EstimationError),
    api("mi/ragged-y", "mi-input", lambda f: estimate_mi(X, [[1.0]] * 11 + [[1.0, 2.0]], estimator="ksg"), EstimationError),
    api("mi/strings", "mi-input", lambda f: estimate_mi(["a", "b", "c"], [1.0, 2.0, 3.0], estimator="gaussian"), EstimationError),
    api("mi/mismatched-n", "mi-input", lambda f: estimate_mi(X, X[:7], estimator="ksg"), EstimationError),
    api("mi/empty", "mi-input", lambda f: estimate_mi(np.zeros((0, 2)), np.zeros((0, 2)), estimator="gaussian"), EstimationError),
    api("mi/nan", "mi-input", lambda f: estimate_mi(np.full((12, 2), np.nan), X, estimator="ksg"), EstimationError),
    api("mi/rank-3", "mi-input", lambda f: estimate_mi(np.zeros((12, 2, 2)), X, estimator="gaussian"), EstimationError),
    api("mi/none", "mi-input", lambda f: estimate_mi(None, X, estimator="gaussian"), EstimationError),
    api("mi/unknown-estimator", "mi-input", lambda f: estimate_mi(X, X, estimator="nope"), UnknownComponentError),
    api("mi/bad-parameter", "mi-input", lambda f: estimate_mi(X, X, estimator="ksg", k=0), ConfigError),
]


def _info(*args: str) -> list[str]:
    return ["datasets", "info", *args]


CLI: list[Case] = [
    # datasets commands: bad specs and options, files of the wrong kind
    cli("datasets/unknown-loader", "datasets-cli", lambda f: _info("--data", "nosuch:x"), UnknownComponentError, "'nosuch'", "available"),
    cli("datasets/empty-spec", "datasets-cli", lambda f: _info("--data", ""), ConfigError, "non-empty"),
    cli("datasets/no-path", "datasets-cli", lambda f: _info("--data", "generic:"), ConfigError, "needs a path"),
    cli("datasets/missing-file", "datasets-cli", lambda f: _info("--data", f"generic:{f.p('gone.npz')}"), FormatError, "gone.npz", "no such file"),
    cli("datasets/option-without-equals", "datasets-cli", lambda f: _info("--data", "synthetic:synergy", "--set", "oops"), ConfigError, "'oops'", "key=value"),
    cli("datasets/bogus-option", "datasets-cli", lambda f: _info("--data", f"generic:{f.npz()}", "--set", "bogus=1"), ConfigError, "'bogus'", "accepted"),
    cli("datasets/option-type", "datasets-cli", lambda f: _info("--data", "synthetic:synergy", "--set", "n=lots"), ConfigError, "'n'", "'lots'"),
    cli("datasets/unknown-modality", "datasets-cli", lambda f: _info("--data", f"generic:{f.npz()}", "--set", "modalities=a,zz"), ConfigError, "'zz'", "available"),
    cli("datasets/zero-byte-npy", "datasets-cli", lambda f: _info("--data", f"generic:{f.write('z.npy', b'')}"), FormatError, "z.npy", "empty"),
    cli("datasets/garbage-h5", "datasets-cli", lambda f: _info("--data", f"generic:{f.write('g.h5', b'x' * 64)}"), FormatError, "g.h5"),
    cli("datasets/sparse-labels", "datasets-cli", lambda f: _info("--data", f"generic:{f.npz(target=(np.arange(12) % 2) * 1_000_000)}"), FormatError, "1000000"),
    cli("datasets/ambiguous-labels", "datasets-cli", lambda f: _info("--data", f"generic:{f.npz(target=(np.arange(12) % 2) * 1.0)}"), FormatError, "task="),
    cli("datasets/malicious-pickle", "datasets-cli", lambda f: _info("--data", f"mmsa:{f.write('evil.pkl', _malicious('os.system/p2'))}"), UnsafePickleError, "evil.pkl", "refused"),
    cli("datasets/deep-pickle", "datasets-cli", lambda f: _info("--data", f"mmsa:{f.write('deep.pkl', _deep(3000))}"), PickleLimitError, "deep.pkl", "max_depth"),
    cli("datasets/checkpoint-as-data", "datasets-cli", lambda f: _info("--data", f"mult:{_torch_checkpoint(f)}"), FormatError, "last.pt", "not a pickle"),
    cli("datasets/missing-data-option", "datasets-cli", lambda f: _info(), USAGE, "--data"),
    cli("datasets/unknown-subcommand", "datasets-cli", lambda f: ["datasets", "show"], USAGE, "show"),
    # conventions shared by every command
    cli("cli/unknown-command", "cli", lambda f: ["trian"], USAGE, "trian", "train"),
    cli("cli/flag-given-a-value", "cli", lambda f: ["bench", "--quick", "true"], USAGE, "flags"),
    cli("cli/analyze-unknown-modality", "cli", lambda f: ["analyze", "--data", "synthetic:synergy", "--data-set", "n=40", "--modalities", "m1,zz", "--out", str(f.mkdir("pid"))], ConfigError, "'zz'", "available"),
    cli("cli/analyze-out-is-a-file", "cli", lambda f: ["analyze", "--data", "synthetic:synergy", "--out", str(f.write("taken", "x"))], OutputPathError, "--out", "taken"),
    cli("cli/analyze-records-under-a-file", "cli", lambda f: ["analyze", "--data", "synthetic:synergy", "--out", str(f.mkdir("o")), "--records", str(f.write("file", "x")) + "/r.jsonl"], OutputPathError, "--records", "file"),
    cli("cli/mi-out-unwritable", "cli", lambda f: ["mi", str(f.npy("x.npy", X)), str(f.npy("y.npy", X)), "--out", "/proc/infofusion/r.jsonl"], OutputPathError, "--out", "/proc/infofusion"),
    cli("cli/mi-zero-byte-npy", "cli", lambda f: ["mi", str(f.write("x0.npy", b"")), str(f.npy("y.npy", X))], FormatError, "x0.npy"),
    cli("cli/mi-mismatched-rows", "cli", lambda f: ["mi", str(f.npy("x.npy", X)), str(f.npy("y.npy", X[:5])), "-e", "gaussian", "--no-progress"], EstimationError, "12", "5"),
]

# fmt: on

from tests.fuzz.cases_training import CASES as TRAINING  # noqa: E402 - the training side's table

CASES: list[Case] = [*LOADERS, *SPECS, *PICKLES, *CONTAINER, *MI_INPUT, *CLI, *TRAINING]
