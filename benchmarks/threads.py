"""Seconds per training epoch with one CPU thread vs torch's default, small and large models.

The trainer's default (``TrainConfig.threads=None``) uses one thread for models under
``SMALL_MODEL_PARAMS`` parameters and ``min(4, usable cores)`` above. This script measures
why: the same fit with ``threads=1`` and with ``threads=<torch default>``, interleaved
(``--repeats`` rounds), optionally while ``--contend K`` busy processes compete for the CPU
(what a shared machine or a parallel test run looks like). It prints the median seconds per
epoch and the ratio default/one-thread per model size; above 1 means one thread is faster.

    python benchmarks/threads.py [--n 4000] [--epochs 3] [--repeats 3] [--contend 2]

The result depends on the machine and its load; the ratios are only meaningful within one run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time

import numpy as np
import torch

from infofusion.data.dataset import MultimodalDataset
from infofusion.training import TrainConfig, fit


def busy(stop: float) -> None:
    x = 0
    while time.time() < stop:
        x += 1


def make_data(n: int) -> MultimodalDataset:
    rng = np.random.default_rng(0)
    b1, b2 = rng.integers(0, 2, n), rng.integers(0, 2, n)
    a = (2 * b1[:, None] - 1) + 0.5 * rng.standard_normal((n, 32))
    b = (2 * b2[:, None] - 1) + 0.5 * rng.standard_normal((n, 32))
    split = np.where(np.arange(n) < 0.8 * n, "train", "valid")
    return MultimodalDataset({"a": a, "b": b}, (b1 ^ b2).astype(np.int64), splits=split)


def epoch_seconds(data: MultimodalDataset, hidden: int, threads: int, epochs: int) -> tuple[float, int]:
    cfg = TrainConfig(epochs=epochs, batch_size=128, patience=0, progress=False, threads=threads)
    res = fit("joint", data, cfg, hidden=hidden, embed_dim=min(hidden, 256))
    return res.timings["train_epoch_mean"], sum(p.numel() for p in res.method.parameters())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--contend", type=int, default=0, help="busy processes competing for the CPU")
    a = p.parse_args()
    default = torch.get_num_threads()
    data = make_data(a.n)
    procs = []
    if a.contend:
        stop = time.time() + 3600
        procs = [mp.Process(target=busy, args=(stop,), daemon=True) for _ in range(a.contend)]
        for proc in procs:
            proc.start()
    try:
        print(f"torch default threads: {default}; busy processes: {a.contend}; n={a.n}")
        for hidden in (64, 1024):
            times: dict[int, list[float]] = {1: [], default: []}
            for _ in range(a.repeats):
                for threads in times:  # interleaved: both settings see the same load drift
                    sec, n_params = epoch_seconds(data, hidden, threads, a.epochs)
                    times[threads].append(sec)
            one, many = statistics.median(times[1]), statistics.median(times[default])
            print(f"hidden={hidden:5d} ({n_params:,} parameters): 1 thread {one:.4f} s/epoch, "
                  f"{default} threads {many:.4f} s/epoch, ratio default/1 = {many / one:.2f}")
    finally:
        for proc in procs:
            proc.terminate()


if __name__ == "__main__":
    main()
