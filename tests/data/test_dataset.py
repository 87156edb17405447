"""MultimodalDataset: every validation error is typed and named; derived datasets behave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from infofusion.data import MultimodalDataset
from infofusion.errors import ConfigError, DataValidationError


def _data(n: int = 12, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    x = {"a": rng.normal(size=(n, 3)), "b": rng.normal(size=(n, 5))}
    y = np.arange(n) % 2
    return x, y


def _raises(problem: str, modality: str | None = None, match: str | None = None):
    class _Ctx:
        def __enter__(self):
            self._cm = pytest.raises(DataValidationError, match=match)
            self.info = self._cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            out = self._cm.__exit__(*exc)
            assert self.info.value.problem == problem, self.info.value.problem
            assert self.info.value.modality == modality
            return out

    return _Ctx()


# ------------------------------------------------------------------------------ validation
def test_valid_dataset_basic_properties():
    x, y = _data()
    ds = MultimodalDataset(x, y, name="toy")
    assert ds.n == len(ds) == 12
    assert ds.names == ("a", "b")
    assert ds.task == "classification" and ds.n_classes == 2
    assert ds.target.dtype == torch.int64
    assert ds.modality("a").dtype == torch.float32
    assert list(ds.splits) == ["train"] and ds.indices("train").tolist() == list(range(12))
    assert ds.ids.tolist() == [str(i) for i in range(12)]
    spec = ds.spec
    assert spec.out_dim == 2 and spec.modality("b").dim == 5


def test_one_dimensional_modality_becomes_column():
    x, y = _data()
    ds = MultimodalDataset({"a": np.arange(12.0)}, y)
    assert tuple(ds.modality("a").shape) == (12, 1)


def test_task_inferred_from_dtype():
    x, _ = _data()
    reg = MultimodalDataset(x, np.linspace(-1, 1, 12))
    assert reg.task == "regression" and reg.n_classes == 1
    assert reg.target.dtype == torch.float32


def test_mismatched_sample_count_names_modality():
    x, y = _data()
    x["b"] = x["b"][:-1]
    with _raises("count_mismatch", "b", match="11 samples"):
        MultimodalDataset(x, y)


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_features(bad, word):
    x, y = _data()
    x["a"][4, 1] = bad
    with _raises("nan", "a", match=f"{word} values in 1 samples \\(first at index 4\\)"):
        MultimodalDataset(x, y)


def test_empty_modality():
    x, y = _data()
    x["b"] = np.zeros((12, 0))
    with _raises("empty", "b"):
        MultimodalDataset(x, y)


def test_empty_sequence_modality():
    _, y = _data()
    with _raises("empty", "s"):
        MultimodalDataset({"s": np.zeros((12, 0, 4))}, y)


def test_no_modality_and_no_samples():
    with _raises("no_modality"):
        MultimodalDataset({}, [0, 1])
    with _raises("empty"):
        MultimodalDataset({"a": np.zeros((0, 2))}, np.zeros(0, dtype=np.int64))


def test_non_numeric_features_and_bad_rank():
    _, y = _data()
    with _raises("dtype", "a"):
        MultimodalDataset({"a": np.array(["x"] * 12)}, y)
    with _raises("shape", "a"):
        MultimodalDataset({"a": np.zeros((12, 2, 2, 2))}, y)


def test_target_dtype_errors():
    x, _ = _data()
    with _raises("target_dtype", match="integer class indices"):
        MultimodalDataset(x, np.linspace(0, 1, 12), task="classification")
    with _raises("target_dtype", match="cannot infer the task"):
        MultimodalDataset(x, np.array(["pos", "neg"] * 6))
    with _raises("target_dtype"):
        MultimodalDataset(x, np.array(["pos", "neg"] * 6), task="regression")


def test_target_shape_and_range():
    x, y = _data()
    assert MultimodalDataset(x, y[:, None]).target.shape == (12,)  # (N, 1) is accepted
    with _raises("target_shape"):
        MultimodalDataset(x, np.zeros((12, 2), dtype=np.int64))
    with _raises("target_range", match=">= 0"):
        MultimodalDataset(x, y - 1)
    with _raises("target_range", match="n_classes=2"):
        MultimodalDataset(x, y * 2, n_classes=2)
    with _raises("task"):
        MultimodalDataset(x, y, task="ranking")  # type: ignore[arg-type]


def test_regression_target_must_be_finite():
    x, _ = _data()
    t = np.linspace(-1, 1, 12)
    t[3] = np.nan
    with _raises("nan", match="index 3"):
        MultimodalDataset(x, t)


def test_single_class():
    x, _ = _data()
    with _raises("single_class", match="at least 2 classes"):
        MultimodalDataset(x, np.zeros(12, dtype=np.int64))
    # two classes overall, but only one of them in the training split
    y = np.array([0] * 6 + [1] * 6)
    with _raises("single_class", match="training split"):
        MultimodalDataset(
            x, y, n_classes=2, splits={"train": np.arange(6), "test": np.arange(6, 12)}
        )


@pytest.mark.parametrize(
    "splits, match",
    [
        (
            {"train": np.arange(8), "validation": np.arange(8, 12)},
            "unknown split name 'validation'",
        ),
        ({"valid": np.arange(12)}, "'train' split is required"),
        ({"train": np.arange(8), "test": np.arange(6, 12)}, "overlaps"),
        ({"train": np.array([0, 0, 1])}, "repeats"),
        ({"train": np.arange(8), "test": np.array([12])}, "outside"),
        ({"train": np.arange(8), "test": np.array([], dtype=np.int64)}, "empty"),
        ({"train": np.linspace(0, 1, 3)}, "integer indices"),
        (np.array(["train"] * 11), "expected \\(12,\\)"),
        (np.array(["train"] * 10 + ["dev"] * 2), "unknown split name 'dev'"),
    ],
)
def test_bad_splits(splits, match):
    x, y = _data()
    with _raises("splits", match=match):
        MultimodalDataset(x, y, splits=splits)


def test_splits_from_labels_and_masks():
    x, y = _data()
    labels = np.array(["train"] * 8 + ["valid"] * 2 + ["test"] * 2)
    ds = MultimodalDataset(x, y, splits=labels)
    assert ds.indices("valid").tolist() == [8, 9] and ds.indices("test").tolist() == [10, 11]
    mask = np.zeros(12, dtype=bool)
    mask[:9] = True
    ds2 = MultimodalDataset(x, y, splits={"train": mask, "test": ~mask})
    assert ds2.indices("test").tolist() == [9, 10, 11]


def test_unknown_split_lookup():
    x, y = _data()
    ds = MultimodalDataset(x, y)
    with _raises("splits", match="no split 'test'"):
        ds.indices("test")
    with _raises("splits"):
        ds.split("valid")


def _seq_data(n: int = 6, t: int = 5) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(1)
    return {"s": rng.normal(size=(n, t, 2)), "v": rng.normal(size=(n, 3))}, np.arange(n) % 2


@pytest.mark.parametrize(
    "lengths, modality, match",
    [
        ({"v": np.ones(6, dtype=int)}, "v", "vector modality"),
        ({"s": np.ones(5, dtype=int)}, "s", "\\(N,\\) integer array"),
        ({"s": np.array([1, 2, 3, 4, 5, 6])}, "s", "length 6 at index 5 is outside \\[1, 5\\]"),
        ({"s": np.array([0, 2, 3, 4, 5, 5])}, "s", "length 0 at index 0"),
        ({"s": np.array([1.5, 2, 3, 4, 5, 5])}, "s", "whole numbers"),
        ({"s": np.array(["1"] * 6)}, "s", "integer array"),
    ],
)
def test_bad_lengths(lengths, modality, match):
    x, y = _seq_data()
    with _raises("lengths", modality, match=match):
        MultimodalDataset(x, y, lengths=lengths)


def test_lengths_for_unknown_modality():
    x, y = _seq_data()
    with _raises("unknown", "w"):
        MultimodalDataset(x, y, lengths={"w": np.ones(6, dtype=int)})


def test_float_whole_lengths_accepted():
    x, y = _seq_data()
    ds = MultimodalDataset(x, y, lengths={"s": np.array([1.0, 2, 3, 4, 5, 5])})
    assert ds.lengths("s").dtype == torch.int64 and ds.lengths("v") is None
    assert ds.spec.modality("s").seq_len == 5


def test_ids_and_sample_meta_checks():
    x, y = _data()
    with _raises("ids", match="not unique"):
        MultimodalDataset(x, y, ids=["a"] * 12)
    with _raises("count_mismatch"):
        MultimodalDataset(x, y, ids=[str(i) for i in range(11)])
    with _raises("count_mismatch", match="sample_meta 'kind'"):
        MultimodalDataset(x, y, sample_meta={"kind": np.zeros(5)})


def test_unknown_modality_lookup():
    x, y = _data()
    ds = MultimodalDataset(x, y)
    with _raises("unknown", "c"):
        ds.modality("c")
    with _raises("unknown", "c"):
        ds.select(["a", "c"])


# ------------------------------------------------------------------------------ standardize
def test_standardize_fits_on_training_split_only():
    rng = np.random.default_rng(0)
    n = 40
    a = rng.normal(size=(n, 2))
    a[30:] += 100.0  # test samples far away: they must not move the statistics
    ds = MultimodalDataset(
        {"a": a}, np.arange(n) % 2, splits={"train": np.arange(30), "test": np.arange(30, n)}
    )
    z = ds.standardize()
    tr = a[:30]
    mean, std = tr.mean(0), tr.std(0)
    np.testing.assert_allclose(z.modality("a").numpy(), (a - mean) / std, rtol=1e-5, atol=1e-5)
    zt = z.modality("a")[:30].numpy()
    np.testing.assert_allclose(zt.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(zt.std(0), 1.0, atol=1e-5)
    assert z.modality("a")[30:].numpy().mean() > 50  # test data shifted, not re-centred
    sc = z.info["standardizers"]["a"]
    np.testing.assert_allclose(sc.mean, mean, rtol=1e-6)
    assert z.info["standardized_on"] == "train"
    # the original dataset is untouched
    np.testing.assert_allclose(ds.modality("a").numpy(), a.astype(np.float32))


def test_standardize_constant_feature_keeps_scale():
    ds = MultimodalDataset({"a": np.c_[np.full(10, 3.0), np.arange(10.0)]}, np.arange(10) % 2)
    z = ds.standardize().modality("a").numpy()
    np.testing.assert_allclose(z[:, 0], 0.0)


def test_standardize_sequence_ignores_padding():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3, 1)) + 5.0
    lengths = np.array([3, 1, 2, 3])
    for i, ln in enumerate(lengths):
        x[i, ln:] = 0.0
    ds = MultimodalDataset({"s": x}, np.array([0, 1, 0, 1]), lengths={"s": lengths})
    z = ds.standardize().modality("s").numpy()
    valid = np.concatenate([x[i, :ln, 0] for i, ln in enumerate(lengths)])
    expected = (x[..., 0] - valid.mean()) / valid.std()
    for i, ln in enumerate(lengths):
        np.testing.assert_allclose(z[i, :ln, 0], expected[i, :ln], rtol=1e-5)
        np.testing.assert_array_equal(z[i, ln:, 0], 0.0)  # padding stays zero


# ------------------------------------------------------------------------------ derived
def test_subset_reindexes_splits_ids_and_meta():
    x, y = _data()
    splits = {"train": np.arange(8), "valid": np.array([8, 9]), "test": np.array([10, 11])}
    meta = {"kind": np.array(list("abcdefghijkl"))}
    ds = MultimodalDataset(x, y, splits=splits, sample_meta=meta)
    sub = ds.subset([11, 2, 9, 3])
    assert sub.n == 4
    np.testing.assert_array_equal(
        sub.modality("a").numpy(), x["a"][[11, 2, 9, 3]].astype(np.float32)
    )
    assert sub.ids.tolist() == ["11", "2", "9", "3"]
    assert sub.sample_meta["kind"].tolist() == ["l", "c", "j", "d"]
    assert sub.indices("train").tolist() == [1, 3]
    assert sub.indices("valid").tolist() == [2]
    assert sub.indices("test").tolist() == [0]
    only_train = ds.subset(np.arange(4))
    assert list(only_train.splits) == ["train"]


def test_split_returns_that_split_only():
    x, y = _data()
    ds = MultimodalDataset(x, y, splits={"train": np.arange(8), "test": np.arange(8, 12)})
    te = ds.split("test")
    assert te.n == 4 and list(te.splits) == ["test"]
    assert te.target.tolist() == y[8:].tolist()


def test_select_keeps_order_and_lengths():
    x, y = _seq_data()
    ds = MultimodalDataset(x, y, lengths={"s": np.full(6, 5)})
    sel = ds.select(["v", "s"])
    assert sel.names == ("v", "s") and sel.lengths("s") is not None
    assert ds.select(["v"]).lengths("s") is None


def test_random_splits_stratified_and_reproducible():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [50, 30, 20])
    ds = MultimodalDataset({"a": rng.normal(size=(100, 2))}, y)
    s1 = ds.random_splits((0.6, 0.2, 0.2), seed=3)
    s2 = ds.random_splits((0.6, 0.2, 0.2), seed=3)
    s3 = ds.random_splits((0.6, 0.2, 0.2), seed=4)
    for k in ("train", "valid", "test"):
        assert torch.equal(s1.indices(k), s2.indices(k))
    assert not torch.equal(s1.indices("train"), s3.indices("train"))
    all_idx = torch.cat([s1.indices(k) for k in ("train", "valid", "test")]).sort().values
    assert all_idx.tolist() == list(range(100))  # a partition
    counts = {k: np.bincount(y[s1.indices(k).numpy()], minlength=3).tolist() for k in s1.splits}
    assert counts["valid"] == [10, 6, 4] and counts["test"] == [10, 6, 4]
    assert counts["train"] == [30, 18, 12]
    with pytest.raises(ConfigError, match="sum to 1"):
        ds.random_splits((0.5, 0.2, 0.2))


def test_random_splits_within_train_keeps_test():
    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    ds = MultimodalDataset(
        {"a": rng.normal(size=(40, 2))},
        y,
        splits={"train": np.arange(30), "test": np.arange(30, 40)},
    )
    out = ds.random_splits((0.8, 0.2, 0.0), seed=0, within="train")
    assert out.indices("test").tolist() == list(range(30, 40))
    assert len(out.indices("valid")) == 6 and len(out.indices("train")) == 24
    assert set(out.indices("valid").tolist()) <= set(range(30))


def test_batches_cover_split_by_indexing():
    x, y = _data(n=10)
    ds = MultimodalDataset(x, y)
    batches = list(ds.batches("train", batch_size=4))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert torch.cat([b.index for b in batches]).tolist() == list(range(10))
    assert [len(b) for b in ds.batches("train", batch_size=4, drop_last=True)] == [4, 4]
    g = torch.Generator().manual_seed(0)
    shuffled = torch.cat([b.index for b in ds.batches(batch_size=3, shuffle=True, generator=g)])
    assert sorted(shuffled.tolist()) == list(range(10))
    b = ds.batch(torch.tensor([3, 1]))
    assert torch.equal(b.x["a"], ds.modality("a")[[3, 1]]) and b.y.tolist() == [1, 1]


def test_from_pandas_encodes_string_labels():
    frame = pd.DataFrame(
        {"f1": np.arange(6.0), "f2": np.arange(6.0) ** 2, "g": np.ones(6), "lab": list("xyxyxz")}
    )
    ds = MultimodalDataset.from_pandas(
        frame, {"one": ["f1", "f2"], "two": ["g"]}, "lab", task="classification"
    )
    assert ds.target.tolist() == [0, 1, 0, 1, 0, 2] and ds.info["classes"] == ["x", "y", "z"]
    with _raises("columns", match="nope"):
        MultimodalDataset.from_pandas(frame, {"one": ["nope"]}, "lab")


def test_describe_reports_splits_and_class_counts():
    x, y = _data()
    d = MultimodalDataset(x, y, splits={"train": np.arange(10), "test": [10, 11]}).describe()
    assert d["splits"] == {"train": 10, "test": 2}
    assert d["class_counts"] == [6, 6]
    assert d["modalities"]["b"] == {"dim": 5}


def test_random_splits_within_train_ignores_test_fraction():
    import numpy as np

    from infofusion.data.dataset import MultimodalDataset

    y = np.arange(100) % 2
    d = MultimodalDataset({"a": np.random.default_rng(0).normal(size=(100, 2))}, y,
                          splits={"train": np.arange(80), "test": np.arange(80, 100)})
    d2 = d.random_splits((0.7, 0.2, 0.1), within="train", seed=1)  # no sample is lost
    assert len(d2.indices("test")) == 20 and set(d2.indices("test").tolist()) == set(range(80, 100))
    assert len(d2.indices("train")) + len(d2.indices("valid")) == 80
    assert len(d2.indices("valid")) == 16


# ------------------------------------------------------------------ splits, labels, task rule
def test_split_helpers_say_which_splits_exist():
    x, y = _data()
    ds = MultimodalDataset(x, y)  # no splits given: everything is train
    assert ds.split_names == ("train",) and ds.split_sizes() == {"train": 12}
    assert ds.has_split("train") and not ds.has_split("valid") and not ds.has_split("test")
    with _raises("missing_split", match="no 'valid' split \\(needed for selection\\); its splits: "
                 "train=12"):
        ds.require_split("valid", "for selection")
    ds = MultimodalDataset(x, y, splits={"test": [0, 1, 2, 3], "train": np.arange(4, 12)})
    assert ds.split_names == ("train", "test")  # canonical order, whatever the given order
    assert torch.equal(ds.require_split("test"), torch.arange(4))
    only_test = ds.subset(np.arange(4))  # a subset can lose its training split
    assert only_test.split_names == ("test",) and not only_test.has_split("train")


@pytest.mark.parametrize(
    "labels, n_classes, ok",
    [
        ([0, 1, 2], None, True),
        ([0, 1, 3], None, False),  # class 2 absent: refused unless stated
        ([0, 1, 3], 4, True),
        ([0, 1_000_000], None, False),
        ([1, 2], None, False),  # class 0 absent
    ],
)
def test_class_labels_must_be_contiguous_unless_n_classes_is_given(labels, n_classes, ok):
    x = {"a": np.zeros((12, 2))}
    y = np.resize(np.array(labels), 12)
    if ok:
        ds = MultimodalDataset(x, y, n_classes=n_classes)
        assert ds.n_classes == (n_classes or max(labels) + 1)
    else:
        with _raises("target_range", match="0..C-1"):
            MultimodalDataset(x, y, n_classes=n_classes)


def test_float_targets_task_rule():
    x = {"a": np.zeros((42, 2))}
    binary = (np.arange(42) % 2).astype(np.float64)
    with _raises("ambiguous_task", match="2 distinct: 0, 1"):
        MultimodalDataset(x, binary)
    ds = MultimodalDataset(x, binary, task="classification")  # stated: whole floats are classes
    assert ds.task == "classification" and ds.target.dtype == torch.int64 and ds.n_classes == 2
    assert MultimodalDataset(x, binary, task="regression").target.dtype == torch.float32
    # the rule stops at MAX_INFERRED_CLASSES distinct whole numbers; fractions are scores
    from infofusion.data.dataset import MAX_INFERRED_CLASSES

    k = MAX_INFERRED_CLASSES
    with _raises("ambiguous_task"):
        MultimodalDataset(x, (np.arange(42) % k).astype(float))
    assert MultimodalDataset(x, (np.arange(42) % (k + 1)).astype(float)).task == "regression"
    assert MultimodalDataset(x, binary + 0.5).task == "regression"


def test_require_modalities():
    x, y = _data()
    ds = MultimodalDataset(x, y)
    assert ds.require_modalities(["b", "a"]) == ("b", "a")
    with _raises("unknown", modality="zz", match="available: a, b"):
        ds.require_modalities(["a", "zz"])
    with _raises("repeated", modality="a"):
        ds.select(["a", "a"])


def test_arguments_of_derived_datasets_are_checked():
    x, y = _data()
    ds = MultimodalDataset(x, y)
    with pytest.raises(ConfigError, match="seed"):
        ds.random_splits(seed=-1)
    with pytest.raises(ConfigError, match="three numbers"):
        ds.random_splits((0.5, 0.5))
    with pytest.raises(ConfigError, match="batch_size"):
        next(ds.batches(batch_size=0))
    with _raises("missing_split", match="'valid'"):
        ds.random_splits(within="valid")
