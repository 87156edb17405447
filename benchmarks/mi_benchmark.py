"""MI estimators on the BMI benchmark ("Beyond Normal", Czyz et al. 2023): ours against BMI's own.

Runs our estimators and, in the same run on identical samples, BMI's KSG and InfoNCE on the
9-task panel listed in ``docs/measures/mi.md`` (n = 5000, several seeds; every estimator
standardises internally). Prints, per estimator, the mean absolute error in nats, the tasks
solved (mean estimate within a factor 1.5 of the truth) and the median time per estimate, then
the ratios the targets are stated in:

* our KSG vs BMI's KSG: largest |difference| of estimates and the time ratios (of the medians,
  of the totals, per task and the smallest per-task ratio), for each of our KSG variants run
  (``ours ksg (k=10)``: the defaults, which use every core; ``ours ksg 1 thread``; ``ours ksg
  torch``: the torch search on one thread). BMI's KSG computes on one core (its distance and
  sort calls are single-threaded), with the max-norm in each space (``metric_x="chebyshev"``),
  the same estimator as ours; its default Euclidean per-space norm is a slightly different
  estimator (``--bmi-ksg-metric``);
* our neural estimators vs BMI's InfoNCE: error and time ratio.

Needs the ``bench`` extra (BMI pins numpy < 2 and pandas < 2, so it lives in its own venv):
``bash scripts/setup_bench.sh`` then ``.venv-bench/bin/python benchmarks/mi_benchmark.py``.
Records (one JSON line per estimate) go to ``--out``.

Before timing, every estimator runs once on 200 samples of the first task (untimed), so one-off
costs -- imports, numba loading its compiled search from the cache or compiling it on a first
run in a fresh environment, JAX tracing -- do not fall on the first task (``--no-warmup``
keeps them in). Times are wall-clock on whatever machine runs this; only ratios taken within
one run compare.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

PANEL = (
    "1v1-normal-0.75",
    "asinh-student-identity-1-1-1",
    "1v1-X-0.9",
    "multinormal-dense-5-5-0.5",
    "multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
    "asinh-student-identity-5-5-2",
    "mult-sparse-w-inliers-5-5-2-2.0-0.2",
    "multinormal-dense-25-25-0.5",
)

# our estimators: label -> (registry name, parameters)
OURS = {
    # the defaults: the compiled search on every core where numba is installed
    "ours ksg (k=10)": ("ksg", {"k": 10, "clip_negative": True}),
    # the same on one thread, and the torch search on one thread
    "ours ksg 1 thread": ("ksg", {"k": 10, "clip_negative": True, "threads": 1}),
    "ours ksg torch": ("ksg", {"k": 10, "clip_negative": True, "threads": 1, "kernel": "torch"}),
    "ours auto": ("auto", {}),
    "ours infonce": ("infonce", {}),
    "ours smile": ("smile", {}),
    "ours gaussian": ("gaussian", {}),
}
DEFAULT_OURS = ["ours ksg (k=10)", "ours auto", "ours infonce", "ours gaussian"]


def load_tasks(names: list[str]) -> dict:
    try:
        import bmi
        from bmi.benchmark.tasks import mixtures
    except ImportError:
        sys.exit(
            "benchmark-mi is not installed: run `bash scripts/setup_bench.sh`, then "
            "`.venv-bench/bin/python benchmarks/mi_benchmark.py`"
        )
    extra = {
        "1v1-X-0.9": lambda: mixtures.task_x(),
        "mult-sparse-w-inliers-5-5-2-2.0-0.2": lambda: mixtures.task_multinormal_sparse_w_inliers(
            5, 5
        ),
    }
    tasks = {}
    for name in names:
        tasks[name] = extra[name]() if name in extra else bmi.benchmark.BENCHMARK_TASKS[name]
    return tasks


def bmi_estimators(ksg_metric: str, neural_steps: int | None) -> dict:
    import bmi

    kw = (
        {"verbose": False}
        if neural_steps is None
        else {"verbose": False, "max_n_steps": neural_steps}
    )
    return {
        "BMI ksg (k=10)": lambda: bmi.estimators.KSGEnsembleFirstEstimator(
            neighborhoods=(10,), metric_x=ksg_metric
        ),
        "BMI infonce": lambda: bmi.estimators.InfoNCEEstimator(**kw),
    }


def solved(mean_est: float, truth: float) -> bool:
    return mean_est > 0 and abs(math.log(mean_est / truth)) < math.log(1.5)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--tasks", nargs="*", default=list(PANEL))
    ap.add_argument("--ours", nargs="*", default=DEFAULT_OURS, help="labels from OURS to run")
    ap.add_argument("--no-bmi", action="store_true", help="skip BMI's estimators")
    ap.add_argument("--bmi-only", nargs="*", default=None, help="run only these BMI labels")
    ap.add_argument("--bmi-ksg-metric", default="chebyshev", choices=["chebyshev", "euclidean"])
    ap.add_argument("--bmi-neural-steps", type=int, default=None, help="override BMI's max steps")
    ap.add_argument("--out", type=Path, default=Path("results/mi_benchmark.jsonl"))
    ap.add_argument("--no-warmup", action="store_true", help="time one-off costs too")
    args = ap.parse_args(argv)

    import torch

    from infofusion.measures.mi import create_estimator

    torch.set_num_threads(1)
    tasks = load_tasks(args.tasks)
    theirs = {} if args.no_bmi else bmi_estimators(args.bmi_ksg_metric, args.bmi_neural_steps)
    if args.bmi_only is not None:
        theirs = {k: v for k, v in theirs.items() if k in args.bmi_only}
    labels = [lab for lab in args.ours if lab in OURS] + list(theirs)
    values: dict[str, dict[str, list[float]]] = {lab: {t: [] for t in tasks} for lab in labels}
    times: dict[str, list[float]] = {lab: [] for lab in labels}
    truths = {}

    def run_one(lab: str, x: np.ndarray, y: np.ndarray, seed: int) -> float:
        if lab in OURS:
            name, params = OURS[lab]
            extra = {"seed": seed} if "seed" in _fields(name) else {}
            return create_estimator(name, **{**params, **extra}).estimate(x, y).value
        return float(theirs[lab]().estimate(x, y))

    if not args.no_warmup:
        first = next(iter(tasks.values()))
        x, y = (np.asarray(a, dtype=np.float64) for a in first.sample(200, seed=0))
        for lab in labels:
            run_one(lab, x, y, 0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        for tname, task in tasks.items():
            truths[tname] = float(task.mutual_information)
            for seed in range(args.seeds):
                x, y = (np.asarray(a, dtype=np.float64) for a in task.sample(args.n, seed=seed))
                for lab in labels:
                    t0 = time.perf_counter()
                    value = run_one(lab, x, y, seed)
                    dt = time.perf_counter() - t0
                    values[lab][tname].append(value)
                    times[lab].append(dt)
                    rec = {
                        "task": tname,
                        "seed": seed,
                        "n": args.n,
                        "estimator": lab,
                        "value": value,
                        "truth": truths[tname],
                        "seconds": dt,
                    }
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    print(
                        f"{tname:40s} seed {seed} {lab:18s} {value:8.4f} (true {truths[tname]:.4f}) {dt:7.2f} s",
                        flush=True,
                    )
    report(labels, values, times, truths)


def _fields(name: str) -> set[str]:
    import dataclasses

    from infofusion.registry import get

    return {f.name for f in dataclasses.fields(get("estimator", name).Params)}


def report(labels: list[str], values: dict, times: dict, truths: dict) -> None:
    tasks = list(truths)
    print("\nmean estimate per task (true MI in the header)")
    print(f"{'':18s}" + "".join(f"{t[:14]:>15s}" for t in tasks))
    print(f"{'truth':18s}" + "".join(f"{truths[t]:15.3f}" for t in tasks))
    summary = {}
    for lab in labels:
        means = {t: float(np.mean(values[lab][t])) for t in tasks}
        print(f"{lab:18s}" + "".join(f"{means[t]:15.3f}" for t in tasks))
        errs = [abs(means[t] - truths[t]) for t in tasks]
        summary[lab] = (
            float(np.mean(errs)),
            sum(solved(means[t], truths[t]) for t in tasks),
            statistics.median(times[lab]),
            float(np.sum(times[lab])),
        )
    print(
        f"\n{'estimator':18s} {'MAE (nats)':>11s} {'solved':>7s} {'median s':>9s} {'total s':>9s}"
    )
    for lab, (mae, ok, med, tot) in summary.items():
        print(f"{lab:18s} {mae:11.3f} {ok:5d}/{len(tasks)} {med:9.3f} {tot:9.1f}")

    def ratio(ours: str, theirs: str) -> None:
        if ours not in summary or theirs not in summary:
            return
        per_task = [
            float(
                np.median(np.array(times[theirs]).reshape(len(tasks), -1)[i])
                / np.median(np.array(times[ours]).reshape(len(tasks), -1)[i])
            )
            for i in range(len(tasks))
        ]
        print(
            f"{ours} vs {theirs}: time ratio {summary[theirs][2] / summary[ours][2]:.1f}x (medians), "
            f"{summary[theirs][3] / summary[ours][3]:.1f}x (totals), per task "
            + ", ".join(f"{r:.1f}x" for r in per_task)
            + f"; slowest task {min(per_task):.1f}x ({tasks[int(np.argmin(per_task))]})"
        )

    print()
    for lab in ("ours ksg (k=10)", "ours ksg 1 thread", "ours ksg torch"):
        if lab in summary and "BMI ksg (k=10)" in summary:
            diffs = [
                abs(a - b)
                for t in tasks
                for a, b in zip(values[lab][t], values["BMI ksg (k=10)"][t], strict=True)
            ]
            print(f"KSG agreement: max |{lab} - BMI| over every estimate = {max(diffs):.6f} nats")
            ratio(lab, "BMI ksg (k=10)")
    for lab in ("ours auto", "ours infonce", "ours smile"):
        ratio(lab, "BMI infonce")


if __name__ == "__main__":
    main()
