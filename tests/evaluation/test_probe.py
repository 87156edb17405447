"""Per-modality linear probe: agreement with a direct scikit-learn fit, selection on valid only,
known answers (a separable modality and a noise modality), the default feature hook, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
from infofusion.evaluation.probe import C_GRID, linear_probe, probe_metrics
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import create
from tests.helpers import regression_dataset, xor_dataset


class RawFeatures(FusionMethod):
    """Exposes each modality's raw input as its 'encoder output' (so the probe's answer is known)."""

    name = "raw_features"

    def __init__(self, spec: TaskSpec, **kw):
        super().__init__(spec, **kw)
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, batch: Batch) -> MethodOutput:
        pred = torch.zeros(len(batch), self.out_dim) + self.w
        return MethodOutput(pred, {"task": pred.sum()})

    def modality_features(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {m: batch.x[m] for m in self.modality_names}


def _data(n=600, seed=0, splits=True):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    sep = (2 * y[:, None] - 1) * 2.0 + 0.5 * rng.normal(size=(n, 3))  # linearly separable
    noisy = (2 * y[:, None] - 1) * 0.3 + rng.normal(size=(n, 3))  # weakly informative
    noise = rng.normal(size=(n, 3))  # independent of y
    idx = rng.permutation(n)
    sp = {"train": idx[:300], "valid": idx[300:450], "test": idx[450:]} if splits else {"train": idx[:450], "test": idx[450:]}
    return MultimodalDataset({"sep": sep, "noisy": noisy, "noise": noise}, y, splits=sp)


def test_probe_known_answers_and_agreement_with_sklearn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    data = _data()
    res = linear_probe(RawFeatures(data.spec), data)
    assert res["sep"].scores["test"] > 0.98
    assert abs(res["noise"].scores["test"] - 0.5) < 0.15  # chance, within binomial spread of 150 samples
    x, y = data.modality("noisy").numpy(), data.target.numpy()
    tr, va, te = (data.indices(s).numpy() for s in ("train", "valid", "test"))
    scaler = StandardScaler().fit(x[tr])
    valid_acc = {c: LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x[tr]), y[tr]).score(scaler.transform(x[va]), y[va])
                 for c in C_GRID}
    best = max(C_GRID, key=lambda c: (valid_acc[c], -C_GRID.index(c)))  # ties: the strongest regularisation
    ref = LogisticRegression(C=best, max_iter=2000).fit(scaler.transform(x[tr]), y[tr])
    r = res["noisy"]
    assert r.regularization == best and r.selected_on == "valid" and r.dim == 3
    assert r.scores["valid"] == pytest.approx(valid_acc[best])
    assert r.scores["test"] == pytest.approx(ref.score(scaler.transform(x[te]), y[te]))
    keys = probe_metrics(res)
    assert keys["test/probe/sep/accuracy"] == res["sep"].scores["test"] and "train/probe/noise/accuracy" in keys


def test_probe_without_valid_split_selects_nothing():
    data = _data(splits=False)
    res = linear_probe(RawFeatures(data.spec), data)
    assert all(r.selected_on is None and r.regularization == C_GRID[len(C_GRID) // 2] for r in res.values())
    assert set(res["sep"].scores) == {"train", "test"}


def test_regression_probe_reports_mae():
    data = regression_dataset(n=200)
    res = linear_probe(RawFeatures(data.spec), data)
    assert res["a"].metric == "mae" and set(probe_metrics(res)) >= {"test/probe/a/mae", "test/probe/b/mae"}
    # y = a0 + b0 * a1 + noise: a linear read-out of `a` explains a0, so its error beats `b`'s
    assert res["a"].scores["test"] < res["b"].scores["test"]


def test_default_feature_hook_and_methods_without_encoders():
    data = xor_dataset(n=64).standardize()
    torch.manual_seed(0)
    late = create("method", "late", spec=data.spec, hidden=16, embed_dim=8).eval()
    batch = data.batch(torch.arange(10))
    feats = late.modality_features(batch)
    enc = late.encode(late.encoders, batch)
    assert set(feats) == {"a", "b"} and all(torch.equal(feats[m], enc[m]) for m in feats)
    uni = create("method", "unimodal", spec=data.spec, modality="b", hidden=16, embed_dim=8)
    assert set(uni.modality_features(batch)) == {"b"}
    early = create("method", "joint", spec=data.spec, fusion="early", hidden=16)
    assert early.modality_features(batch) == {}
    with pytest.raises(ConfigError, match="method 'joint' exposes no per-modality encoder outputs"):
        linear_probe(early, data)


def test_train_records_probe_metrics():
    from infofusion.api import train
    from infofusion.training import TrainConfig

    recs = train("late", xor_dataset(n=200), config=TrainConfig(epochs=1, progress=False), probe=True,
                 method_options={"hidden": 16, "embed_dim": 8})
    rec = recs[0]
    assert {"test/probe/a/accuracy", "test/probe/b/accuracy", "valid/probe/a/accuracy"} <= set(rec.metrics)
    assert rec.timings["probe"] > 0 and set(rec.extra["probe"]) == {"a", "b"}
