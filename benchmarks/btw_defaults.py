"""How BTW's defaults were chosen: validation accuracy of candidate settings (bench quick budget).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/btw_defaults.py --out results/btw_defaults.jsonl \
        [--grid schedule|projection] [--tasks synthetic:mixed_noise,...] [--seeds 0,1,2]

``--grid schedule`` (default) trains ``btw`` with each combination of ``update_every`` (1, 5) and
``crossfit`` (1, 5) on ``synthetic:mixed_noise``, ``synthetic:mixed3_partial`` and ``digits``;
``--grid projection`` trains ``btw-uniform`` (no weighting: the network alone) with each
``projection`` on ``synthetic:mixed``. Runs already in ``--out`` are not repeated. Prints the
mean **validation** accuracy per setting and task (the test split plays no part in the choice).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

GRIDS = {
    "schedule": (
        "btw",
        ["synthetic:mixed_noise", "synthetic:mixed3_partial", "digits"],
        {
            "every 1, crossfit 1": {"update_every": 1, "crossfit": 1},
            "every 1, crossfit 5": {"update_every": 1, "crossfit": 5},
            "every 5, crossfit 1": {"update_every": 5, "crossfit": 1},
            "every 5, crossfit 5": {"update_every": 5, "crossfit": 5},
        },
    ),
    "projection": (
        "btw-uniform",
        ["synthetic:mixed"],
        {f"projection {p}": {"projection": p} for p in ("mlp", "linear", "none")},
    ),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="results/btw_defaults.jsonl")
    p.add_argument("--grid", choices=sorted(GRIDS), default="schedule")
    p.add_argument("--tasks", default=None, help="comma-separated datasets (default: the grid's)")
    p.add_argument("--seeds", default="0,1,2")
    a = p.parse_args()

    import torch

    from infofusion.api import bench_config, train

    torch.set_num_threads(1)
    method, tasks, settings = GRIDS[a.grid]
    tasks = a.tasks.split(",") if a.tasks else tasks
    seeds = [int(s) for s in a.seeds.split(",")]
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["method"], r["task"], r["setting"], r["seed"]))
    for task in tasks:
        for name, options in settings.items():
            for seed in seeds:
                if (method, task, name, seed) in done:
                    continue
                rec = train(method, task, seeds=[seed], config=bench_config(), method_options=options)[0]
                row = {"method": method, "task": task, "setting": name, "seed": seed,
                       "valid": rec.metrics["valid/accuracy"], "fit_seconds": rec.timings["fit"]}
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r["method"] == method and r["setting"] in settings and r["seed"] in seeds:
            cell[(r["setting"], r["task"])].append(r["valid"])
    print(f"{method}: mean validation accuracy over seeds {seeds}\n")
    print("| setting | " + " | ".join(tasks) + " | mean |")
    print("|---" * (len(tasks) + 2) + "|")
    for name in settings:
        vals = [np.mean(cell[(name, t)]) if cell[(name, t)] else float("nan") for t in tasks]
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in vals) + f" | {np.mean(vals):.4f} |")


if __name__ == "__main__":
    main()
