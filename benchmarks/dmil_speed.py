"""Training time per epoch of DMIL relative to joint fusion, measured in the same run, interleaved.

On one dataset, builds a joint-fusion trainer and a DMIL trainer with the same engine settings
(the ``bench --quick`` budget: batch 128, AdamW) and alternates training epochs: joint, DMIL
stage 1, joint, DMIL stage 2, joint, DMIL stage 3, ... so machine noise hits both alike. Each
DMIL stage is set up as the engine does it (its groups trainable, the rest frozen, a fresh
optimiser). Prints the median seconds per training epoch (no validation pass) of each and the
ratios DMIL / joint per stage and for all DMIL epochs together (the three stages weighted
equally, as when every stage runs the same number of epochs).

    OMP_NUM_THREADS=1 python benchmarks/dmil_speed.py --data synthetic:mixed --epochs 5 --repeats 3

Training only: the validation pass after each epoch and model selection add the same work per
epoch to every method.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="synthetic:mixed")
    p.add_argument("--epochs", type=int, default=5, help="epochs per stage and repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="DMIL option (repeatable)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from infofusion.api import bench_config
    from infofusion.cli.options import parse_options
    from infofusion.data import load_dataset
    from infofusion.training import Trainer, build_method, seed_everything

    data = load_dataset(a.data).standardize("train")
    cfg = dataclasses.replace(bench_config(), seed=0)
    seed_everything(0)
    joint = Trainer(build_method("joint", data), data, cfg)
    seed_everything(0)
    options = parse_options(a.set)
    dmil = Trainer(build_method("dmil", data, **options), data, cfg)
    stages = dmil.method.stages()
    groups = dmil._group_parameters(stages)
    dmil._fit_start_trainable = {n: q.requires_grad for n, q in dmil.method.named_parameters()}
    joint._start_stage(joint.stage, {}, 1)
    times: dict[str, list[float]] = {"joint": [], **{st.name: [] for st in stages}}
    for _ in range(a.repeats):
        for st in stages:
            dmil._start_stage(st, groups, len(stages))
            for epoch in range(a.epochs):
                for name, trainer in (("joint", joint), (st.name, dmil)):
                    t = time.perf_counter()
                    trainer.train_epoch()
                    if epoch > 0:  # the first epoch after a (re)start warms caches up
                        times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{a.data}{' ' + str(options) if options else ''}: n_train={len(data.indices('train'))} batch={cfg.batch_size} "
          f"epochs/stage={a.epochs} repeats={a.repeats} threads={a.threads}")
    print(f"{'what':24s} {'s/epoch':>9s} {'x joint':>8s}")
    print(f"{'joint fusion':24s} {med['joint']:9.4f} {1.0:8.2f}")
    for st in stages:
        print(f"{'DMIL stage ' + st.name:24s} {med[st.name]:9.4f} {med[st.name] / med['joint']:8.2f}")
    mean_dmil = statistics.mean(med[st.name] for st in stages)
    print(f"{'DMIL, stages averaged':24s} {mean_dmil:9.4f} {mean_dmil / med['joint']:8.2f}")


if __name__ == "__main__":
    main()
