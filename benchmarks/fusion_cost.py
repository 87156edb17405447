"""Epoch time of fusion methods relative to joint fusion, measured interleaved in one run.

For each dataset every method is built with its ``bench_options`` and the engine's defaults
(hidden 128, embed_dim 64, batch 128), then the methods take turns: one training epoch each,
``--rounds`` times, so a change in machine load hits all of them alike. Printed per dataset:
the median seconds of a training epoch (the engine's ``train_epoch``, what the records'
``timings.train_epoch_mean`` averages) and of an epoch with the method's epoch hooks (QMF's
history refresh is one prediction pass over the training split), each as a ratio to joint
fusion's median. Multi-stage methods are timed in their last stage (MCR's fused training with
the permutation branch, not its cheaper unimodal pre-training epochs).

    OMP_NUM_THREADS=1 python benchmarks/fusion_cost.py [--data synthetic:mixed digits uci_mfeat]
        [--methods joint late ensemble tfn mcr qmf i2m2 mmib lmf] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from infofusion.api import _as_dataset
from infofusion.interfaces import StageSpec
from infofusion.registry import create, get
from infofusion.training import TrainConfig
from infofusion.training.trainer import Trainer


def prepare(name: str, data, config: TrainConfig) -> Trainer:
    torch.manual_seed(0)
    method = create("method", name, spec=data.spec, **dict(get("method", name).bench_options))
    trainer = Trainer(method, data, config)
    method.on_fit_start(trainer)
    stage = (method.stages() or [StageSpec("main")])[-1]
    trainer.stage = stage
    method.on_stage_start(stage, trainer)
    trainer.optimizer = trainer.make_optimizer()
    return trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=["synthetic:mixed", "digits", "uci_mfeat"])
    parser.add_argument("--methods", nargs="+", default=["joint", "late", "ensemble", "tfn", "mcr", "qmf", "i2m2", "mmib", "lmf"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    methods = ["joint", *[m for m in args.methods if m != "joint"]]
    config = TrainConfig(batch_size=128, device="cpu", progress=False)
    for spec in args.data:
        data = _as_dataset(spec)[0].standardize()
        trainers = {m: prepare(m, data, config) for m in methods if data.task in get("method", m).tasks}
        train_s: dict[str, list[float]] = {m: [] for m in trainers}
        epoch_s: dict[str, list[float]] = {m: [] for m in trainers}
        for epoch in range(args.rounds + 1):  # round 0 warms up and is not counted
            for m, trainer in trainers.items():
                trainer.method.on_epoch_start(epoch, trainer)
                t0 = time.perf_counter()
                trainer.train_epoch()
                t1 = time.perf_counter()
                trainer.method.on_epoch_end(epoch, trainer)
                t2 = time.perf_counter()
                if epoch:
                    train_s[m].append(t1 - t0)
                    epoch_s[m].append(t2 - t0)
        ref_train, ref_epoch = statistics.median(train_s["joint"]), statistics.median(epoch_s["joint"])
        print(f"\n{spec} ({len(data.indices('train'))} training samples, {len(data.names)} modalities, "
              f"median of {args.rounds} interleaved epochs)")
        print(f"{'method':10s} {'train s':>9s} {'x joint':>8s} {'+hooks s':>9s} {'x joint':>8s}")
        for m in trainers:
            tr, ep = statistics.median(train_s[m]), statistics.median(epoch_s[m])
            print(f"{m:10s} {tr:9.4f} {tr / ref_train:8.2f} {ep:9.4f} {ep / ref_epoch:8.2f}")


if __name__ == "__main__":
    main()
