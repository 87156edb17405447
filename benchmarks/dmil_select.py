"""How DMIL's defaults were chosen: validation accuracy over a grid of options (never the test split).

Trains DMIL with the ``infofusion bench --quick`` budget on the selection datasets and seeds and
prints, per configuration, the mean VALIDATION accuracy of the selected model on each dataset
and over all of them. Test metrics are neither computed for the choice nor printed.

Two steps (``--step``):

* ``structure``: one option at a time from a base configuration -- the U/R separation
  (``xcorr`` vs ``club``), the alignment (``corr`` vs ``mse``), the reconstruction target
  (``input`` vs ``encoding``) and the stage-3 learning-rate factor (0.1 vs 0.5);
* ``weights``: alpha, beta and gamma, one at a time over three values each (a factor 10 apart)
  around the base, with the structure chosen in the first step (``--base`` takes it as JSON);
* ``base``: the base configuration alone (e.g. the best value of each weight from the sweep
  together, ``--base '{"alpha": 0.01, "gamma": 0.1}'``).

Each finished run is appended to ``--out`` (JSON lines) and skipped when the script runs again,
so an interrupted grid resumes. Run (about 1 to 2 minutes per DMIL fit on one core)::

    OMP_NUM_THREADS=1 python benchmarks/dmil_select.py --step structure --jobs 2
    OMP_NUM_THREADS=1 python benchmarks/dmil_select.py --step weights --jobs 2 \\
        --base '{"finetune_lr_factor": 0.5}'
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BASE = {"alpha": 1e-3, "beta": 0.1, "gamma": 1.0, "separation": "xcorr", "align": "corr",
        "recon_target": "input", "finetune_lr_factor": 0.1}
STRUCTURE = [{}, {"separation": "club"}, {"align": "mse"}, {"recon_target": "encoding"},
             {"finetune_lr_factor": 0.5}]
WEIGHTS = {"alpha": (1e-4, 1e-3, 1e-2), "beta": (1e-2, 1e-1, 1.0), "gamma": (0.1, 1.0, 10.0)}


def run_one(task: tuple[str, int, str]) -> dict:
    """One fit; returns the validation accuracy (the record holds no test metric)."""
    data, seed, options_json = task
    import dataclasses

    import torch

    torch.set_num_threads(1)
    from infofusion.api import bench_config
    from infofusion.data import load_dataset
    from infofusion.training import fit

    options = json.loads(options_json)
    result = fit("dmil", load_dataset(data), dataclasses.replace(bench_config(), seed=seed), **options)
    return {"data": data, "seed": seed, "options": options, "valid_accuracy": result.metrics["valid/accuracy"],
            "epochs": len(result.history)}


def configurations(step: str, base: dict) -> list[dict]:
    if step == "base":
        return [dict(base)]
    if step == "structure":
        return [{**base, **change} for change in STRUCTURE]
    configs = [dict(base)]
    for key, values in WEIGHTS.items():
        configs += [{**base, key: v} for v in values if v != base[key]]
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--step", choices=("structure", "weights", "base"), required=True)
    parser.add_argument("--base", default=None, help="JSON options replacing the base configuration")
    parser.add_argument("--data", nargs="+", default=["synthetic:mixed", "digits"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results/dmil_select.jsonl"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    base = {**BASE, **(json.loads(args.base) if args.base else {})}
    configs = configurations(args.step, base)
    done: dict[tuple, float] = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            rec = json.loads(line)
            done[(rec["data"], rec["seed"], json.dumps(rec["options"], sort_keys=True))] = rec["valid_accuracy"]
    tasks = [(d, s, json.dumps(c, sort_keys=True)) for c in configs for d in args.data for s in range(args.seeds)]
    todo = [t for t in tasks if t not in done]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for rec in pool.map(run_one, todo):
            done[(rec["data"], rec["seed"], json.dumps(rec["options"], sort_keys=True))] = rec["valid_accuracy"]
            with args.out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(f"{rec['data']} seed {rec['seed']} {rec['options']}: valid accuracy {rec['valid_accuracy']:.4f}",
                  flush=True)
    varied = sorted({k for c in configs for k in c if any(c[k] != o[k] for o in configs)}) or sorted(WEIGHTS)
    print(f"\nvalidation accuracy, mean over seeds 0..{args.seeds - 1} (base {base})")
    print(" | ".join(varied + args.data + ["mean"]))
    for c in configs:
        key = json.dumps(c, sort_keys=True)
        per = [sum(done[(d, s, key)] for s in range(args.seeds)) / args.seeds for d in args.data]
        print(" | ".join([str(c[k]) for k in varied] + [f"{v:.4f}" for v in per] + [f"{sum(per) / len(per):.4f}"]))


if __name__ == "__main__":
    main()
