"""Saved models: loaded back, they predict exactly what the model in memory predicted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import infofusion
from infofusion.data import MultimodalDataset
from infofusion.registry import list_components
from infofusion.trained import load, save_model
from infofusion.training import TrainConfig, fit
from tests.helpers import regression_dataset, xor_dataset

METHODS = list_components("method")
CFG = TrainConfig(epochs=2, batch_size=32, progress=False)


@pytest.mark.parametrize("name", METHODS)
def test_loaded_model_predicts_bit_for_bit_what_the_trained_one_did(name, tmp_path):
    """Every registered method: the test-split outputs of the reloaded model (rebuilt from the
    file alone, raw data standardised with the saved statistics) equal the trainer's."""
    data = xor_dataset(n=96, seed=1)
    options = {"order": "auto"} if name == "ithp" else {}  # an order settled from data
    result = fit(name, data, CFG, hidden=16, embed_dim=8, **options)
    path = save_model(tmp_path / "m.pt", result, method=name, data="xor")
    model = load(path)
    out = model.outputs(data, split="test")
    assert np.array_equal(out["prediction"], result.test_outputs["prediction"])
    assert np.array_equal(out["index"], result.test_outputs["index"])
    for branch, values in result.test_outputs["unimodal"].items():
        assert np.array_equal(out["unimodal"][branch], values)
    labels = model.predict(data, split="test")
    assert np.array_equal(labels, result.test_outputs["prediction"].argmax(axis=1))
    assert model.info["method"] == name and model.info["data"]["spec"] == "xor"


def test_arrays_without_a_target_predict_like_the_dataset(tmp_path):
    data = xor_dataset(n=96, seed=2)
    result = fit("joint", data, CFG, hidden=16)
    model = load(save_model(tmp_path / "m.pt", result, method="joint"))
    idx = data.indices("test").numpy()
    arrays = {m: data.modality(m).numpy()[idx] for m in data.names}
    by_arrays = model.outputs(arrays)["prediction"]
    assert np.array_equal(by_arrays, result.test_outputs["prediction"])
    proba = model.predict_proba(arrays)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(proba.argmax(axis=1), model.predict(arrays))
    # an extra modality in the data is ignored, a missing one is named
    assert np.array_equal(model.outputs({**arrays, "c": arrays["a"]})["prediction"], by_arrays)


def test_relabelled_classes_come_back_as_the_original_labels(tmp_path):
    rng = np.random.default_rng(0)
    n = 90
    y = np.array(["cat", "dog", "eel"])[np.arange(n) % 3]
    x = rng.normal(size=(n, 4)) + (np.arange(n) % 3)[:, None] * 2.0
    codes, classes = MultimodalDataset.encode_labels(y)
    split = np.array(["train", "valid", "test"])[np.arange(n) // 30]
    data = MultimodalDataset({"a": x, "b": x[:, :2]}, codes, splits=split, info={"classes": classes})
    result = fit("late", data, TrainConfig(epochs=30, lr=1e-2, progress=False), hidden=16)
    model = load(save_model(tmp_path / "m.pt", result, method="late"))
    assert model.classes == ["cat", "dog", "eel"]
    pred = model.predict(data, split="test")
    assert pred.dtype.kind == "U" and set(pred) <= {"cat", "dog", "eel"}
    assert np.mean(pred == y[data.indices("test").numpy()]) > 0.9  # well separated classes


def test_regression_model_predicts_scores(tmp_path):
    data = regression_dataset(n=80)
    result = fit("joint", data, CFG, hidden=16)
    model = load(save_model(tmp_path / "m.pt", result, method="joint"))
    scores = model.predict(data, split="test")
    assert scores.shape == (len(data.indices("test")),)
    assert np.array_equal(scores, result.test_outputs["prediction"])


def test_loading_does_not_touch_the_callers_random_stream(tmp_path):
    result = fit("joint", xor_dataset(n=64), CFG, hidden=8)
    path = save_model(tmp_path / "m.pt", result, method="joint")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load(path)
    assert torch.equal(torch.rand(3), expected)


def test_train_saves_models_and_predict_writes_them_out(tmp_path, monkeypatch):
    """``train`` saves each seed's model under <model-dir>/<run-id>/; ``predict`` reads one back
    and writes labels, targets and probabilities per sample (CSV) or arrays (NPZ)."""
    import infofusion.data as data_mod
    from infofusion.cli.main import app

    data = xor_dataset(n=120, seed=5)
    monkeypatch.setattr(data_mod, "load_dataset", lambda spec, **kw: data)
    runner = CliRunner()
    res = runner.invoke(app, ["train", "-m", "joint", "-d", "xor", "--seeds", "2", "--epochs", "2", "--no-progress",
                              "--out", str(tmp_path / "r.jsonl"), "--model-dir", str(tmp_path / "models"),
                              "--set", "hidden=16"])
    assert res.exit_code == 0, res.output
    records = infofusion.interfaces.read_records(tmp_path / "r.jsonl")
    paths = [r.extra["model"] for r in records]
    run = records[0].run["id"]
    assert [p.rsplit("/", 2)[1] for p in paths] == [run, run] and paths[0] != paths[1]
    csv_out, npz_out = tmp_path / "p.csv", tmp_path / "p.npz"
    for out in (csv_out, npz_out):
        res = runner.invoke(app, ["predict", "--model", paths[0], "--data", "xor", "--split", "test", "--out", str(out)])
        assert res.exit_code == 0, res.output
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "id,prediction,target,prob_0,prob_1"
    assert len(lines) == 1 + len(data.indices("test"))
    arrays = np.load(npz_out, allow_pickle=False)
    expected = load(paths[0]).predict(data, split="test")
    assert np.array_equal(arrays["prediction"], expected)
    assert [int(row.split(",")[1]) for row in lines[1:]] == expected.tolist()
    np.testing.assert_allclose(arrays["probabilities"].sum(axis=1), 1.0, rtol=1e-6)
