"""Epoch time of the training engine vs a bare tensor-slicing loop and a DataLoader loop.

Same model (JointFusion), same data, same batch size and optimiser, measured in one run;
prints seconds per epoch (median over epochs) and the ratios to the bare loop.

    python benchmarks/training_speed.py [--n 20000] [--epochs 5] [--batch-size 128]

The trainer's number is its training pass (``train_epoch_mean``); with validation every epoch
it is also shown as ``trainer (epoch + validation)``. Target: trainer <= 1.1x the bare loop.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from infofusion.data.dataset import MultimodalDataset
from infofusion.interfaces import Batch
from infofusion.methods.joint import JointFusion
from infofusion.training import TrainConfig, fit


def make_data(n: int, seed: int = 0) -> MultimodalDataset:
    rng = np.random.default_rng(seed)
    b1, b2 = rng.integers(0, 2, n), rng.integers(0, 2, n)
    a = (2 * b1[:, None] - 1) + 0.5 * rng.standard_normal((n, 32))
    b = (2 * b2[:, None] - 1) + 0.5 * rng.standard_normal((n, 32))
    idx = rng.permutation(n)
    splits = {"train": idx[: int(0.8 * n)], "valid": idx[int(0.8 * n) :]}
    return MultimodalDataset({"a": a, "b": b}, (b1 ^ b2).astype(np.int64), splits=splits).standardize()


def new_model(data: MultimodalDataset) -> JointFusion:
    torch.manual_seed(0)
    return JointFusion(data.spec, hidden=128, embed_dim=64)


def bare_loop(data: MultimodalDataset, epochs: int, bs: int) -> list[float]:
    model = new_model(data)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    idx = data.indices("train")
    xa, xb, y = data.modality("a")[idx], data.modality("b")[idx], data.target[idx]
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        model.train()
        perm = torch.randperm(len(y))
        for s in range(0, len(y), bs):
            j = perm[s : s + bs]
            out = model(Batch({"a": xa[j], "b": xb[j]}, y[j], j))
            loss = F.cross_entropy(out.prediction, y[j])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return times


def dataloader_loop(data: MultimodalDataset, epochs: int, bs: int) -> list[float]:
    from torch.utils.data import DataLoader, TensorDataset

    model = new_model(data)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    idx = data.indices("train")
    ds = TensorDataset(data.modality("a")[idx], data.modality("b")[idx], data.target[idx], idx)
    loader = DataLoader(ds, batch_size=bs, shuffle=True)
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        model.train()
        for xa, xb, y, j in loader:
            out = model(Batch({"a": xa, "b": xb}, y, j))
            loss = F.cross_entropy(out.prediction, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return times


def trainer_loop(data: MultimodalDataset, epochs: int, bs: int) -> tuple[list[float], float]:
    model = new_model(data)
    cfg = TrainConfig(epochs=epochs, batch_size=bs, lr=1e-3, weight_decay=1e-4, patience=0,
                      standardize=False, progress=False)
    t = time.perf_counter()
    res = fit(model, data, cfg)
    total = time.perf_counter() - t
    return [h["seconds"] for h in res.history], total / epochs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="interleaved repetitions of the three loops")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    data = make_data(a.n)
    res: dict[str, list[float]] = {"bare": [], "dataloader": [], "trainer": [], "trainer_full": []}
    for _ in range(a.repeats):  # interleave so machine noise hits every loop alike
        res["bare"] += bare_loop(data, a.epochs, a.batch_size)[1:]
        res["dataloader"] += dataloader_loop(data, a.epochs, a.batch_size)[1:]
        tr, full = trainer_loop(data, a.epochs, a.batch_size)
        res["trainer"] += tr[1:]
        res["trainer_full"].append(full)
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"n_train={len(data.indices('train'))} batch={a.batch_size} epochs={a.epochs} repeats={a.repeats} threads={a.threads}")
    print(f"{'loop':28s} {'s/epoch':>9s} {'x bare':>8s}")
    for key, label in [("bare", "bare tensor slicing"), ("dataloader", "DataLoader(TensorDataset)"),
                       ("trainer", "infofusion trainer"), ("trainer_full", "trainer (epoch + validation)")]:
        print(f"{label:28s} {med[key]:9.4f} {med[key] / med['bare']:8.3f}")
    ratio = med["trainer"] / med["bare"]
    print(f"target trainer <= 1.10x bare: {'met' if ratio <= 1.10 else 'MISSED'} ({ratio:.3f}x)")


if __name__ == "__main__":
    main()
