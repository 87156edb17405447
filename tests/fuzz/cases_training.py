"""Malformed inputs of the training side: training and method options, checkpoints, output
locations of every writing command, results files given to ``report``, saved models and data
given to ``predict`` (one line each; format in ``harness.py``).

Inputs are tiny: a generic ``.npz`` of 12 samples with train/valid/test splits, or a 24-sample
dataset in memory; checkpoints and models come from one-epoch fits of it (a few ms each).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from infofusion.errors import (
    CheckpointError,
    CheckpointMismatchError,
    ConfigError,
    DataValidationError,
    FormatError,
    OutputPathError,
    UnknownComponentError,
)
from tests.fuzz.harness import USAGE, Case, Files, api, cli

SPLIT = np.array(["train"] * 8 + ["valid"] * 2 + ["test"] * 2)
PROC = "/proc/infofusion-fuzz"  # a location that cannot be written, even by root


def npz(f: Files, name: str = "d.npz", **changes) -> str:
    """``generic:`` spec of a 12-sample file with a (12, 3), b (12, 2) and all three splits."""
    return f"generic:{f.npz(name, split=SPLIT, **changes)}"


def tiny(seed: int = 0, n: int = 24, **kw):
    """In-memory dataset, modalities a (n, 3), b (n, 2), with train/valid/test splits."""
    from infofusion.data import MultimodalDataset

    rng = np.random.default_rng(seed)
    split = np.array(["train"] * (n // 2) + ["valid"] * (n // 4) + ["test"] * (n - n // 2 - n // 4))
    return MultimodalDataset({"a": rng.normal(size=(n, 3)), "b": rng.normal(size=(n, 2))},
                             np.arange(n) % 2, splits=split, name=f"tiny{seed}", **kw)


def config(**kw):
    from infofusion.training import TrainConfig

    return TrainConfig(**{"epochs": 1, "batch_size": 8, "progress": False, **kw})


def fit(method="joint", data_seed=0, hidden=8, **kw):
    from infofusion.training import fit as _fit

    options = {k: kw.pop(k) for k in list(kw) if k in ("modality", "fusion", "embed_dim")}
    return _fit(method, tiny(data_seed), config(**kw), hidden=hidden, **options)


def checkpoint(f: Files, folder: str = "ck", **kw) -> str:
    """A finished one-epoch run's checkpoint folder (``<folder>/last.pt``)."""
    fit(checkpoint_dir=str(f.p(folder)), **kw)
    return str(f.p(folder))


def resume(folder: str, **kw):
    """Resume ``folder`` with the settings ``kw`` (defaults: the ones :func:`checkpoint` used)."""
    return fit(checkpoint_dir=folder, resume=True, **kw)


def last_pt(f: Files, data: bytes) -> str:
    """A checkpoint folder whose ``last.pt`` holds ``data``."""
    f.write("bad/last.pt", data)
    return str(f.p("bad"))


def truncated_last_pt(f: Files) -> str:
    checkpoint(f, "full")
    raw = (f.p("full") / "last.pt").read_bytes()
    return last_pt(f, raw[: len(raw) // 2])


class _Evil:
    """Pickles as a call of ``os.system`` (what an attacker's checkpoint holds)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def evil_torch_file(f: Files, name: str) -> str:
    import torch

    path = f.p(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": {"w": torch.zeros(2)}, "x": _Evil(str(f.p("PWNED")))}, path)
    return str(path)


def never_runs(f: Files, load):
    """Run ``load()``; fail loudly (not with the expected class) if the file's code ran."""
    try:
        return load()
    finally:
        assert not f.p("PWNED").exists(), "code in the file was executed"


def model(f: Files, name: str = "m.pt", **kw) -> str:
    """A saved one-epoch model (joint on :func:`tiny`; regression with ``regression=True``)."""
    from infofusion.trained import save_model
    from infofusion.training import fit as _fit

    if kw.pop("regression", False):
        data = tiny()
        from infofusion.data import MultimodalDataset

        data = MultimodalDataset({"a": data.modality("a").numpy(), "b": data.modality("b").numpy()},
                                 np.linspace(0, 1, len(data)), splits=data.splits, name="reg")
        res = _fit("joint", data, config(), hidden=8)
    else:
        res = fit(**kw)
    return str(save_model(f.p(name), res, method="joint", data="tiny"))


def load_model(path):
    from infofusion.trained import load

    return load(path)


def records_file(f: Files, *lines: str, name: str = "r.jsonl") -> str:
    return str(f.write(name, "\n".join(lines) + "\n"))


def good_record() -> str:
    from infofusion.interfaces import RunRecord

    return RunRecord("train", {"data": "d", "label": "joint"}, seed=0,
                     metrics={"test/accuracy": 0.5}, extra={"selected_on": "valid"}).to_json()


def cli_ok(argv) -> None:
    """Run a command line that must succeed (preparing the input of the case)."""
    from typer.testing import CliRunner

    from infofusion.cli.main import app

    res = CliRunner().invoke(app, [str(a) for a in argv])
    assert res.exit_code == 0, res.output


def train_cli(f: Files, *args: str, data: str | None = None) -> list[str]:
    """``train -m joint`` on the tiny file, one epoch (outputs: the case's folder, which is the
    working directory of command-line cases)."""
    return ["train", "-m", "joint", "-d", data or npz(f), "--epochs", "1", "--no-progress",
            "--out", str(f.p("r.jsonl")), *args]


def cli_checkpoint(f: Files, folder: str = "ck", *args: str, data: str | None = None) -> str:
    """A checkpoint folder written by ``train --checkpoint-dir`` (seed 0 in ``<folder>/seed0``)."""
    cli_ok(train_cli(f, "--checkpoint-dir", str(f.p(folder)), "--set", "hidden=8", *args, data=data))
    return str(f.p(folder))


def predict_cli(f: Files, *args: str, model_path: str | None = None, data: str | None = None,
                out: str | None = None) -> list[str]:  # fmt: skip
    return ["predict", "--model", model_path or model(f), "--data", data or npz(f),
            "--out", out or str(f.p("p.csv")), *args]


def report_cli(path: str, *args: str) -> list[str]:
    return ["report", path, *args]


def bench_cli(f: Files, *args: str) -> list[str]:
    return ["bench", "-m", "joint", "-d", "digits", "--seeds", "1", "--epochs", "1", "--no-progress", *args]


def train_on(data, **kw):
    import infofusion

    return infofusion.train("joint", data, **{"config": config(), **kw})


def fit_on(data, method="joint", hidden=8, **kw):
    from infofusion.training import fit as _fit

    return _fit(method, data, config(**kw), hidden=hidden)


def bench_api(**kw):
    import infofusion

    return infofusion.bench(methods=["joint"], datasets=["digits"], seeds=1, progress=False, **kw)


def save(path, result):
    from infofusion.trained import save_model

    return save_model(path, result, method="joint")


def old_checkpoint(f: Files) -> str:
    """A checkpoint written before checkpoints recorded what they belong to."""
    import torch

    f.mkdir("old")
    torch.save({"model": {}, "epoch": 1}, f.p("old/last.pt"))
    return str(f.p("old"))


def cli_last_pt(f: Files, data: bytes) -> str:
    """A ``--checkpoint-dir`` whose seed-0 ``last.pt`` holds ``data``."""
    f.write("root/seed0/last.pt", data)
    return str(f.p("root"))


def set_attr(obj, name, value):
    setattr(obj, name, value)
    return obj


def replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def create(name, **options):
    from infofusion.registry import create as _create

    return _create("method", name, spec=tiny().spec, **options)


def api_train(**kw):
    import infofusion

    return infofusion.train("joint", tiny(), **{"config": config(), **kw})


# fmt: off
PID_WORK = "fixed in the PID work"
NAN, INF = float("nan"), float("inf")

TRAIN_OPTIONS: list[Case] = [
    # the Python API: TrainConfig checks every field on construction and on change
    api("config/epochs-0", "train-options", lambda f: config(epochs=0), ConfigError, "'epochs'", "=0", ">= 1"),
    api("config/epochs-negative", "train-options", lambda f: config(epochs=-1), ConfigError, "'epochs'", "-1"),
    api("config/epochs-string", "train-options", lambda f: config(epochs="10"), ConfigError, "'epochs'", "'10'", "integer"),
    api("config/epochs-bool", "train-options", lambda f: config(epochs=True), ConfigError, "'epochs'", "True"),
    api("config/batch-size-0", "train-options", lambda f: config(batch_size=0), ConfigError, "'batch_size'", "=0"),
    api("config/batch-size-negative", "train-options", lambda f: config(batch_size=-4), ConfigError, "'batch_size'", "-4"),
    api("config/lr-nan", "train-options", lambda f: config(lr=NAN), ConfigError, "'lr'", "nan", "finite number > 0"),
    api("config/lr-negative", "train-options", lambda f: config(lr=-1.0), ConfigError, "'lr'", "-1"),
    api("config/lr-inf", "train-options", lambda f: config(lr=INF), ConfigError, "'lr'", "inf"),
    api("config/weight-decay-negative", "train-options", lambda f: config(weight_decay=-1.0), ConfigError, "'weight_decay'", ">= 0"),
    api("config/patience-negative", "train-options", lambda f: config(patience=-1), ConfigError, "'patience'", "-1"),
    api("config/seed-negative", "train-options", lambda f: config(seed=-1), ConfigError, "'seed'", "-1"),
    api("config/device-tpu", "train-options", lambda f: config(device="tpu"), ConfigError, "'device'", "'tpu'", "cpu"),
    api("config/metric-unknown", "train-options", lambda f: config(metric="nosuch"), ConfigError, "'metric'", "nosuch"),
    api("config/protocol-unknown", "train-options", lambda f: config(protocol="nosuch"), ConfigError, "'protocol'", "nosuch", "available"),
    api("config/grad-clip-zero", "train-options", lambda f: config(grad_clip=0.0), ConfigError, "'grad_clip'", "> 0"),
    api("config/eval-batch-size-0", "train-options", lambda f: config(eval_batch_size=0), ConfigError, "'eval_batch_size'", "=0"),
    api("config/threads-0", "train-options", lambda f: config(threads=0), ConfigError, "'threads'", "=0"),
    api("config/resume-without-dir", "train-options", lambda f: config(resume=True), ConfigError, "'resume'", "checkpoint_dir"),
    api("config/replace-lr-nan", "train-options", lambda f: replace(config(), lr=NAN), ConfigError, "'lr'", "nan"),
    api("config/set-batch-size-0", "train-options", lambda f: set_attr(config(), "batch_size", 0), ConfigError, "'batch_size'", "=0"),
    api("api-train/seeds-0", "train-options", lambda f: api_train(seeds=0), ConfigError, "seeds", "0"),
    api("api-train/seeds-empty-list", "train-options", lambda f: api_train(seeds=[]), ConfigError, "seeds", "empty"),
    api("api-train/seeds-negative-list", "train-options", lambda f: api_train(seeds=[-2]), ConfigError, "seeds", "-2"),
    api("api-train/config-not-trainconfig", "train-options", lambda f: api_train(config={"epochs": 3}), ConfigError, "TrainConfig", "dict"),
    api("api-train/no-train-split", "train-options", lambda f: train_on(tiny().with_splits({"valid": np.arange(12), "test": np.arange(12, 24)})), DataValidationError, "'train' split", "required"),
    # the command line: the same checks, one line each, before any data is loaded
    cli("train/epochs-0", "train-options", lambda f: train_cli(f, "--epochs", "0"), ConfigError, "'epochs'", "--epochs", "=0"),
    cli("train/epochs-negative", "train-options", lambda f: train_cli(f, "--epochs", "-3"), ConfigError, "--epochs", "-3"),
    cli("train/batch-size-negative", "train-options", lambda f: train_cli(f, "--batch-size", "-4"), ConfigError, "--batch-size", "-4"),
    cli("train/batch-size-0", "train-options", lambda f: train_cli(f, "--batch-size", "0"), ConfigError, "--batch-size", "=0"),
    cli("train/lr-nan", "train-options", lambda f: train_cli(f, "--lr", "nan"), ConfigError, "--lr", "nan"),
    cli("train/lr-negative", "train-options", lambda f: train_cli(f, "--lr", "-1"), ConfigError, "--lr", "-1"),
    cli("train/lr-inf", "train-options", lambda f: train_cli(f, "--lr", "inf"), ConfigError, "--lr", "inf"),
    cli("train/weight-decay-negative", "train-options", lambda f: train_cli(f, "--weight-decay", "-1"), ConfigError, "--weight-decay", "-1"),
    cli("train/seeds-0", "train-options", lambda f: train_cli(f, "--seeds", "0"), ConfigError, "--seeds", "0"),
    cli("train/seeds-negative", "train-options", lambda f: train_cli(f, "--seeds", "-2"), ConfigError, "--seeds", "-2"),
    cli("train/seed-start-negative", "train-options", lambda f: train_cli(f, "--seed-start", "-1"), ConfigError, "--seed-start", "-1"),
    cli("train/device-tpu", "train-options", lambda f: train_cli(f, "--device", "tpu"), ConfigError, "--device", "'tpu'"),
    cli("train/patience-negative", "train-options", lambda f: train_cli(f, "--patience", "-1"), ConfigError, "--patience", "-1"),
    cli("train/metric-unknown", "train-options", lambda f: train_cli(f, "--metric", "nosuch"), ConfigError, "--metric", "nosuch"),
    cli("train/metric-of-other-protocol", "train-options", lambda f: train_cli(f, "--metric", "MAE", "--protocol", "classification"), ConfigError, "MAE", "classification"),
    cli("train/threads-0", "train-options", lambda f: train_cli(f, "--threads", "0"), ConfigError, "--threads", "=0"),
    cli("train/grad-clip-negative", "train-options", lambda f: train_cli(f, "--grad-clip", "-1"), ConfigError, "--grad-clip", "-1"),
    cli("train/eval-batch-size-0", "train-options", lambda f: train_cli(f, "--eval-batch-size", "0"), ConfigError, "--eval-batch-size", "=0"),
    cli("train/resume-without-dir", "train-options", lambda f: train_cli(f, "--resume"), ConfigError, "--resume", "--checkpoint-dir"),
    cli("train/no-data", "train-options", lambda f: ["train", "-m", "joint", "--out", str(f.p("r.jsonl"))], USAGE, "--data"),
    cli("train/epochs-not-a-number", "train-options", lambda f: train_cli(f, "--epochs", "ten"), USAGE, "--epochs", "integer"),
    cli("train/data-no-train-split", "train-options", lambda f: train_cli(f, data=f"generic:{f.npz(split=np.array(['valid'] * 6 + ['test'] * 6))}"), FormatError, "'train' split"),
    cli("bench/epochs-0", "train-options", lambda f: bench_cli(f, "--epochs", "0", "--out", str(f.p("b"))), ConfigError, "--epochs", "=0"),
    cli("bench/lr-nan", "train-options", lambda f: bench_cli(f, "--lr", "nan", "--out", str(f.p("b"))), ConfigError, "--lr", "nan"),
    cli("bench/seeds-0", "train-options", lambda f: ["bench", "-m", "joint", "-d", "digits", "--seeds", "0", "--out", str(f.p("b"))], ConfigError, "seeds", "0"),
]

METHOD_OPTIONS: list[Case] = [
    cli("set/hidden-string", "method-options", lambda f: train_cli(f, "--set", "hidden=abc"), ConfigError, "'hidden'", "'abc'", "integer >= 1"),
    cli("set/hidden-negative", "method-options", lambda f: train_cli(f, "--set", "hidden=-5"), ConfigError, "'hidden'", "-5", ">= 1"),
    cli("set/hidden-float", "method-options", lambda f: train_cli(f, "--set", "hidden=2.5"), ConfigError, "'hidden'", "2.5"),
    cli("set/dropout-1.5", "method-options", lambda f: train_cli(f, "--set", "dropout=1.5"), ConfigError, "'dropout'", "1.5", "< 1"),
    cli("set/dropout-negative", "method-options", lambda f: train_cli(f, "--set", "dropout=-0.1"), ConfigError, "'dropout'", "-0.1"),
    cli("set/embed-dim-0", "method-options", lambda f: train_cli(f, "--set", "embed_dim=0"), ConfigError, "'embed_dim'", "=0"),
    cli("set/encoder-unknown", "method-options", lambda f: train_cli(f, "--set", "encoder=cnn"), ConfigError, "'encoder'", "'cnn'", "'mlp'"),
    cli("set/modalities-unknown", "method-options", lambda f: train_cli(f, "--set", 'modalities=["a","zz"]'), ConfigError, "'modalities'", "'zz'", "available: a, b"),
    cli("set/modalities-empty", "method-options", lambda f: train_cli(f, "--set", "modalities=[]"), ConfigError, "'modalities'", "non-empty"),
    cli("set/modalities-string", "method-options", lambda f: train_cli(f, "--set", "modalities=a,b"), ConfigError, "'modalities'", "'a,b'", "list"),
    cli("set/unimodal-unknown-modality", "method-options", lambda f: ["train", "-m", "unimodal", "-d", npz(f), "--out", str(f.p("r.jsonl")), "--set", "modality=nosuch"], ConfigError, "'modality'", "'nosuch'", "available: a, b"),
    cli("set/unknown-option", "method-options", lambda f: train_cli(f, "--set", "hiden=8"), ConfigError, "hiden", "did you mean 'hidden'"),
    cli("set/without-equals", "method-options", lambda f: train_cli(f, "--set", "hidden"), ConfigError, "'hidden'", "key=value"),
    cli("set/joint-fusion-unknown", "method-options", lambda f: train_cli(f, "--set", "fusion=late"), ConfigError, "fusion", "'late'"),
    cli("set/tfn-dim-0", "method-options", lambda f: ["train", "-m", "tfn", "-d", npz(f), "--out", str(f.p("r.jsonl")), "--set", "tfn_dim=0"], ConfigError, "'tfn_dim'", ">= 1"),
    cli("set/ithp-beta-negative", "method-options", lambda f: ["train", "-m", "ithp", "-d", npz(f), "--out", str(f.p("r.jsonl")), "--set", "beta=-1"], ConfigError, "'beta'", "-1", ">= 0"),
    cli("set/unknown-method", "method-options", lambda f: ["train", "-m", "jiont", "-d", npz(f), "--out", str(f.p("r.jsonl"))], UnknownComponentError, "'jiont'", "joint"),
    cli("data-set/unknown-loader-option", "method-options", lambda f: train_cli(f, "--data-set", "bogus=1"), ConfigError, "'bogus'", "accepted"),
    api("method/hidden-string", "method-options", lambda f: create("joint", hidden="abc"), ConfigError, "method 'joint'", "'hidden'", "'abc'"),
    api("method/embed-dim-float", "method-options", lambda f: create("late", embed_dim=8.5), ConfigError, "'embed_dim'", "8.5"),
    api("method/dropout-1", "method-options", lambda f: create("ensemble", dropout=1.0), ConfigError, "'dropout'", "< 1"),
    api("method/dropout-nan", "method-options", lambda f: create("joint", dropout=NAN), ConfigError, "'dropout'", "nan"),
    api("method/encoder-type", "method-options", lambda f: create("joint", encoder=3), ConfigError, "'encoder'", "3"),
    api("method/modalities-duplicate", "method-options", lambda f: create("joint", modalities=["a", "a"]), ConfigError, "'modalities'", "twice"),
    api("method/modalities-unknown", "method-options", lambda f: create("late", modalities=["zz"]), ConfigError, "'zz'", "available: a, b"),
    api("method/unimodal-modality", "method-options", lambda f: create("unimodal", modality="c"), ConfigError, "'modality'", "'c'"),
    api("method/ithp-latent-dims-string", "method-options", lambda f: create("ithp", latent_dims="64"), ConfigError, "'latent_dims'", "'64'"),
    api("method/ithp-latent-dims-zero", "method-options", lambda f: create("ithp", latent_dims=[0]), ConfigError, "'latent_dims'", ">= 1"),
    api("method/ithp-drop-prob", "method-options", lambda f: create("ithp", drop_prob=2.0), ConfigError, "'drop_prob'", "2.0"),
    api("method/tfn-max-fused", "method-options", lambda f: create("tfn", max_fused=-1), ConfigError, "'max_fused'", "-1"),
    api("method/ensemble-average", "method-options", lambda f: create("ensemble", average="median"), ConfigError, "average", "'median'"),
    api("method/option-to-an-instance", "method-options", lambda f: fit_on(tiny(), method=create("joint"), hidden=8), ConfigError, "method options", "name"),
]

CHECKPOINTS: list[Case] = [
    api("ckpt/garbage", "checkpoints", lambda f: resume(last_pt(f, b"garbage" * 9)), CheckpointError, "last.pt", "not a torch checkpoint"),
    api("ckpt/empty", "checkpoints", lambda f: resume(last_pt(f, b"")), CheckpointError, "last.pt", "empty"),
    api("ckpt/truncated", "checkpoints", lambda f: resume(truncated_last_pt(f)), CheckpointError, "last.pt", "truncated"),
    api("ckpt/plain-pickle", "checkpoints", lambda f: resume(last_pt(f, pickle.dumps({"model": {}}, protocol=4))), CheckpointError, "last.pt", "not a torch checkpoint"),
    api("ckpt/malicious", "checkpoints", lambda f: never_runs(f, lambda: resume(os.path.dirname(evil_torch_file(f, "evil/last.pt")))), CheckpointError, "last.pt", "refused", "system"),
    api("ckpt/no-identity", "checkpoints", lambda f: resume(old_checkpoint(f)), CheckpointError, "last.pt", "no identity"),
    api("ckpt/foreign-method", "checkpoints", lambda f: resume(checkpoint(f, method="late"), method="joint"), CheckpointMismatchError, "last.pt", "method", "'late'", "'joint'"),
    api("ckpt/foreign-width", "checkpoints", lambda f: resume(checkpoint(f, hidden=16), hidden=8), CheckpointMismatchError, "options.hidden", "16", "8"),
    api("ckpt/foreign-options", "checkpoints", lambda f: resume(checkpoint(f, fusion="early"), fusion="intermediate"), CheckpointMismatchError, "options.fusion", "'early'"),
    api("ckpt/foreign-dataset-same-shapes", "checkpoints", lambda f: resume(checkpoint(f, data_seed=0), data_seed=1), CheckpointMismatchError, "data.hash", "another dataset"),
    api("ckpt/foreign-dataset-size", "checkpoints", lambda f: fit_on(tiny(n=32), checkpoint_dir=checkpoint(f), resume=True), CheckpointMismatchError, "data.splits.train", "12", "16"),
    api("ckpt/foreign-seed", "checkpoints", lambda f: resume(checkpoint(f, seed=0), seed=1), CheckpointMismatchError, "seed", "0", "1"),
    api("ckpt/foreign-lr", "checkpoints", lambda f: resume(checkpoint(f, lr=1e-3), lr=1e-2), CheckpointMismatchError, "train.lr", "0.01"),
    api("ckpt/exists-without-resume", "checkpoints", lambda f: fit(checkpoint_dir=checkpoint(f)), OutputPathError, "--checkpoint-dir", "--resume"),
    api("ckpt/dir-is-a-file", "checkpoints", lambda f: api_train(config=config(checkpoint_dir=str(f.write("file", "x")))), OutputPathError, "--checkpoint-dir", "file"),
    cli("ckpt-cli/garbage", "checkpoints", lambda f: train_cli(f, "--checkpoint-dir", cli_last_pt(f, b"\x80\x02garbage"), "--resume"), CheckpointError, "last.pt", "not a torch checkpoint"),
    cli("ckpt-cli/empty", "checkpoints", lambda f: train_cli(f, "--checkpoint-dir", cli_last_pt(f, b""), "--resume"), CheckpointError, "last.pt", "empty"),
    cli("ckpt-cli/malicious", "checkpoints", lambda f: train_cli(f, "--checkpoint-dir", os.path.dirname(os.path.dirname(evil_torch_file(f, "root/seed0/last.pt"))), "--resume"), CheckpointError, "last.pt", "refused"),
    cli("ckpt-cli/foreign-dataset", "checkpoints", lambda f: train_cli(f, "--checkpoint-dir", cli_checkpoint(f, "ck", data=npz(f, "one.npz")), "--set", "hidden=8", "--resume", data=npz(f, "two.npz")), CheckpointMismatchError, "last.pt", "data.hash"),
    cli("ckpt-cli/foreign-width", "checkpoints", lambda f: train_cli(f, "--checkpoint-dir", cli_checkpoint(f), "--set", "hidden=16", "--resume"), CheckpointMismatchError, "options.hidden", "8", "16"),
    cli("ckpt-cli/foreign-method", "checkpoints", lambda f: ["train", "-m", "late", *train_cli(f, "--checkpoint-dir", cli_checkpoint(f), "--set", "hidden=8", "--resume")[3:]], CheckpointMismatchError, "'joint'", "'late'"),
    cli("ckpt-cli/exists-without-resume", "checkpoints", lambda f: train_cli(f, "--checkpoint-dir", cli_checkpoint(f), "--set", "hidden=8"), OutputPathError, "--checkpoint-dir", "--resume"),
]

OUTPUTS: list[Case] = [
    # every writing command checks its output locations first: the data spec names a file that
    # does not exist, so a check made after loading would fail with FormatError instead
    cli("out/train-out-unwritable", "outputs", lambda f: train_cli(f, "--out", f"{PROC}/r.jsonl", data="generic:/nonexistent/d.npz"), OutputPathError, "--out", PROC),
    cli("out/train-out-is-a-directory", "outputs", lambda f: train_cli(f, "--out", str(f.mkdir("outdir")), data="generic:/nonexistent/d.npz"), OutputPathError, "--out", "directory"),
    cli("out/train-checkpoint-dir-is-a-file", "outputs", lambda f: train_cli(f, "--checkpoint-dir", str(f.write("ckfile", "x")), data="generic:/nonexistent/d.npz"), OutputPathError, "--checkpoint-dir", "ckfile"),
    cli("out/train-plots-under-a-file", "outputs", lambda f: train_cli(f, "--plots", str(f.write("pl", "x")) + "/sub", data="generic:/nonexistent/d.npz"), OutputPathError, "--plots", "pl"),
    cli("out/train-per-sample-unwritable", "outputs", lambda f: train_cli(f, "--per-sample", f"{PROC}/ps", data="generic:/nonexistent/d.npz"), OutputPathError, "--per-sample", PROC),
    cli("out/train-model-dir-is-a-file", "outputs", lambda f: train_cli(f, "--model-dir", str(f.write("md", "x")), data="generic:/nonexistent/d.npz"), OutputPathError, "--model-dir", "md"),
    cli("out/bench-out-is-a-file", "outputs", lambda f: bench_cli(f, "--out", str(f.write("bf", "x"))), OutputPathError, "--out", "bf"),
    cli("out/bench-out-unwritable", "outputs", lambda f: bench_cli(f, "--out", PROC), OutputPathError, "--out", PROC),
    cli("out/bench-run-exists", "outputs", lambda f: bench_cli(f, "--out", str(f.write("b/r1/results.jsonl", good_record()).parent.parent), "--run-id", "r1"), OutputPathError, "--out", "r1", "already holds results"),
    cli("out/bench-run-id-path", "outputs", lambda f: bench_cli(f, "--out", str(f.p("b")), "--run-id", "../x"), ConfigError, "run id", "'../x'"),
    cli("out/report-out-unwritable", "outputs", lambda f: report_cli(records_file(f, good_record()), "--out", f"{PROC}/t.md"), OutputPathError, "--out", PROC),
    cli("out/report-out-exists", "outputs", lambda f: report_cli(records_file(f, good_record()), "--out", str(f.write("t.md", "mine"))), OutputPathError, "--out", "t.md", "--overwrite"),
    cli("out/report-out-suffix", "outputs", lambda f: report_cli(records_file(f, good_record()), "--out", str(f.p("t.txt"))), ConfigError, "--out", ".txt", ".md or .html"),
    cli("out/predict-out-unwritable", "outputs", lambda f: predict_cli(f, out=f"{PROC}/p.csv", model_path="/nonexistent/m.pt"), OutputPathError, "--out", PROC),
    cli("out/predict-out-exists", "outputs", lambda f: predict_cli(f, out=str(f.write("p.csv", "mine")), model_path="/nonexistent/m.pt"), OutputPathError, "--out", "p.csv", "--overwrite"),
    cli("out/predict-out-suffix", "outputs", lambda f: predict_cli(f, out=str(f.p("p.json")), model_path="/nonexistent/m.pt"), ConfigError, "--out", ".json", ".csv or .npz"),
    cli("out/mi-out-is-a-directory", "outputs", lambda f: ["mi", str(f.npy("x.npy", np.zeros((12, 2)))), str(f.npy("y.npy", np.zeros((12, 2)))), "--out", str(f.mkdir("mo"))], OutputPathError, "--out", "directory"),
    cli("out/analyze-out-unwritable", "outputs", lambda f: ["analyze", "--data", "synthetic:synergy", "--out", f"{PROC}/a"], OutputPathError, "--out", PROC),
    api("out/api-train-out-is-a-directory", "outputs", lambda f: train_on("generic:/nonexistent/d.npz", out=f.mkdir("o")), OutputPathError, "--out", "directory"),
    api("out/api-bench-out-is-a-file", "outputs", lambda f: bench_api(out_dir=f.write("bf", "x")), OutputPathError, "--out", "bf"),
    api("out/api-save-model-exists", "outputs", lambda f: save(model(f), fit()), OutputPathError, "m.pt", "exists"),
]

REPORT_INPUTS: list[Case] = [
    cli("report/missing-file", "report-inputs", lambda f: report_cli(str(f.p("none.jsonl"))), FormatError, "none.jsonl", "no such results file"),
    cli("report/directory", "report-inputs", lambda f: report_cli(str(f.mkdir("rd"))), FormatError, "rd", "directory"),
    cli("report/bad-json", "report-inputs", lambda f: report_cli(records_file(f, good_record(), "{not json")), FormatError, "r.jsonl", "line 2", "not JSON"),
    cli("report/binary", "report-inputs", lambda f: report_cli(str(f.write("b.jsonl", b"\xff\xfe\x00\x81" * 8))), FormatError, "b.jsonl", "UTF-8"),
    cli("report/json-array", "report-inputs", lambda f: report_cli(records_file(f, "[1, 2, 3]")), FormatError, "line 1", "not a run record", "list"),
    cli("report/missing-config", "report-inputs", lambda f: report_cli(records_file(f, '{"kind": "train", "metrics": {}}')), FormatError, "line 1", "'config'"),
    cli("report/metrics-not-object", "report-inputs", lambda f: report_cli(records_file(f, '{"kind": "train", "config": {}, "metrics": [1]}')), FormatError, "'metrics'", "object"),
    cli("report/metric-not-number", "report-inputs", lambda f: report_cli(records_file(f, '{"kind": "train", "config": {}, "metrics": {"test/accuracy": "high"}}')), FormatError, "test/accuracy", "'high'"),
    cli("report/seed-not-integer", "report-inputs", lambda f: report_cli(records_file(f, '{"kind": "train", "config": {}, "seed": "x"}')), FormatError, "'seed'", "'x'"),
    cli("report/empty-file", "report-inputs", lambda f: report_cli(str(f.write("e.jsonl", ""))), FormatError, "e.jsonl", "no records"),
    cli("report/unknown-run", "report-inputs", lambda f: report_cli(records_file(f, good_record()), "--run", "nosuch"), ConfigError, "nosuch", "runs:"),
    cli("report/pickle-given", "report-inputs", lambda f: report_cli(str(f.pickle("r.pkl", {"a": 1}))), FormatError, "r.pkl"),
]

PREDICT_INPUTS: list[Case] = [
    cli("predict/model-missing", "predict-inputs", lambda f: predict_cli(f, model_path=str(f.p("none.pt"))), CheckpointError, "none.pt", "no such model file"),
    cli("predict/model-garbage", "predict-inputs", lambda f: predict_cli(f, model_path=str(f.write("g.pt", b"garbage" * 9))), CheckpointError, "g.pt", "not a torch model file"),
    cli("predict/model-empty", "predict-inputs", lambda f: predict_cli(f, model_path=str(f.write("e.pt", b""))), CheckpointError, "e.pt", "empty"),
    cli("predict/model-truncated", "predict-inputs", lambda f: predict_cli(f, model_path=str(f.cut(Path(model(f))))), CheckpointError, "cut_m.pt", "truncated"),
    cli("predict/model-is-a-checkpoint", "predict-inputs", lambda f: predict_cli(f, model_path=checkpoint(f) + "/last.pt"), CheckpointError, "last.pt", "not an infofusion model file", "--resume"),
    cli("predict/model-malicious", "predict-inputs", lambda f: predict_cli(f, model_path=evil_torch_file(f, "evil.pt")), CheckpointError, "evil.pt", "refused", "system"),
    cli("predict/model-directory", "predict-inputs", lambda f: predict_cli(f, model_path=str(f.mkdir("mdir"))), CheckpointError, "mdir", "directory"),
    cli("predict/data-missing-modality", "predict-inputs", lambda f: predict_cli(f, data=f"generic:{f.npz('nb.npz', b=None)}"), DataValidationError, "'b'", "the model needs"),
    cli("predict/data-wrong-dim", "predict-inputs", lambda f: predict_cli(f, data=f"generic:{f.npz('w.npz', a=np.zeros((12, 4)))}"), DataValidationError, "'a'", "(4,)", "(3,)"),
    cli("predict/data-missing-file", "predict-inputs", lambda f: predict_cli(f, data=f"generic:{f.p('gone.npz')}"), FormatError, "gone.npz", "no such file"),
    cli("predict/split-unknown", "predict-inputs", lambda f: predict_cli(f, "--split", "dev"), ConfigError, "--split", "'dev'", "all, train, valid, test"),
    cli("predict/split-absent", "predict-inputs", lambda f: predict_cli(f, "--split", "test", data=f"generic:{f.npz('ns.npz')}"), DataValidationError, "'test' split", "train=12"),
    cli("predict/no-model-option", "predict-inputs", lambda f: ["predict", "--data", npz(f), "--out", str(f.p("p.csv"))], USAGE, "--model"),
    api("predict/api-missing-modality", "predict-inputs", lambda f: load_model(model(f)).predict({"a": np.zeros((5, 3))}), DataValidationError, "'b'", "the model needs"),
    api("predict/api-wrong-dim", "predict-inputs", lambda f: load_model(model(f)).predict({"a": np.zeros((5, 3)), "b": np.zeros((5, 7))}), DataValidationError, "'b'", "(7,)", "(2,)"),
    api("predict/api-count-mismatch", "predict-inputs", lambda f: load_model(model(f)).predict({"a": np.zeros((5, 3)), "b": np.zeros((4, 2))}), DataValidationError, "'b'", "4"),
    api("predict/api-nan", "predict-inputs", lambda f: load_model(model(f)).predict({"a": np.full((5, 3), np.nan), "b": np.zeros((5, 2))}), DataValidationError, "'a'", "NaN"),
    api("predict/api-no-modality", "predict-inputs", lambda f: load_model(model(f)).predict({}), DataValidationError, "no modality", "a, b"),
    api("predict/api-wrong-type", "predict-inputs", lambda f: load_model(model(f)).predict([1, 2, 3]), ConfigError, "dict", "list"),
    api("predict/api-split-unknown", "predict-inputs", lambda f: load_model(model(f)).predict(tiny(), split="dev"), ConfigError, "split", "'dev'"),
    api("predict/api-proba-regression", "predict-inputs", lambda f: load_model(model(f, regression=True)).predict_proba(tiny()), ConfigError, "predict_proba", "classification"),
    api("predict/api-load-model-unregistered-method", "predict-inputs", lambda f: load_model(_rename_method(f)), UnknownComponentError, "'nosuch'"),
]


def _rename_method(f: Files) -> str:
    """A saved model whose method is not registered (a newer version's method, say)."""
    import torch

    payload = torch.load(model(f), weights_only=True)
    payload["method"] = "nosuch"
    torch.save(payload, f.p("renamed.pt"))
    return str(f.p("renamed.pt"))


MEASURE_INPUTS: list[Case] = [
    # MI and PID inputs fixed in main (the MI/PID work owns the rest)
    cli("analyze/k-0", "measure-inputs", lambda f: ["analyze", "--data", "synthetic:synergy", "--data-set", "n=40", "--k", "0", "--out", str(f.p("a"))], ConfigError, "k", "0"),
    cli("analyze/unknown-measure", "measure-inputs", lambda f: ["analyze", "--data", "synthetic:synergy", "--data-set", "n=40", "--measure", "nosuch", "--out", str(f.p("a"))], UnknownComponentError, "'nosuch'", "broja"),
    cli("analyze/unknown-representation", "measure-inputs", lambda f: ["analyze", "--data", "synthetic:synergy", "--data-set", "n=40", "--representation", "foo", "--out", str(f.p("a"))], ConfigError, "representation", "'foo'"),
    cli("analyze/modalities-one", "measure-inputs", lambda f: ["analyze", "--data", "synthetic:synergy", "--data-set", "n=40", "--modalities", "m1", "--out", str(f.p("a"))], ConfigError, "--modalities", "two"),
    cli("analyze/boot-negative", "measure-inputs", lambda f: ["analyze", "--data", "synthetic:synergy", "--data-set", "n=40", "--boot", "-1", "--perm", "1", "--no-pointwise", "--out", str(f.p("a"))], ConfigError, "boot", "-1"),
    cli("mi-cli/missing-file", "measure-inputs", lambda f: ["mi", str(f.p("x.npy")), str(f.npy("y.npy", np.zeros((12, 2))))], FormatError, "x.npy"),
    cli("mi-cli/unknown-estimator", "measure-inputs", lambda f: ["mi", str(f.npy("x.npy", np.zeros((12, 2)))), str(f.npy("y.npy", np.zeros((12, 2)))), "-e", "nosuch"], UnknownComponentError, "'nosuch'"),
]

# fmt: on

CASES: list[Case] = [*TRAIN_OPTIONS, *METHOD_OPTIONS, *CHECKPOINTS, *OUTPUTS, *REPORT_INPUTS,
                     *PREDICT_INPUTS, *MEASURE_INPUTS]
