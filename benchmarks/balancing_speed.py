"""Training time per epoch of the gradient-balancing methods relative to joint fusion.

Same data, batch size, optimiser and encoders; the methods are trained in interleaved rounds
(round r trains every method once, in a rotated order), so a change of machine load hits them
all alike. Prints, per dataset, each method's median seconds per training epoch (the engine's
``train_epoch_mean``: training pass only, no validation) and its ratio to joint fusion.

    OMP_NUM_THREADS=1 python benchmarks/balancing_speed.py [--data synthetic:imbalance --data uci_mfeat]
        [--epochs 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from infofusion.data import load_dataset
from infofusion.training import TrainConfig, fit

METHODS = ("joint", "late", "ensemble", "ogm_ge", "agm", "mlb", "mmpareto")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", action="append", default=None)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--methods", default=",".join(METHODS))
    a = p.parse_args()
    torch.set_num_threads(1)
    methods = a.methods.split(",")
    for spec in a.data or ["synthetic:imbalance", "uci_mfeat"]:
        ds = load_dataset(spec)
        cfg = TrainConfig(epochs=a.epochs, patience=0, batch_size=128, lr=2e-3, progress=False)
        fit("joint", ds, TrainConfig(epochs=1, progress=False))  # warm-up: imports, first allocations
        times: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(a.rounds):
            order = methods[r % len(methods):] + methods[: r % len(methods)]
            for m in order:
                times[m].append(fit(m, ds, cfg).timings["train_epoch_mean"])
        ref = statistics.median(times["joint"])
        print(f"\n{spec} ({len(ds.names)} modalities, {int(len(ds.indices('train')))} training samples, "
              f"{a.epochs} epochs x {a.rounds} interleaved rounds)")
        print(f"{'method':10s} {'s/epoch':>9s} {'x joint':>8s}")
        for m in methods:
            med = statistics.median(times[m])
            print(f"{m:10s} {med:9.3f} {med / ref:8.2f}")


if __name__ == "__main__":
    main()
