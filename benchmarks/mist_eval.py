"""The learned estimator ``mist`` on the 9-task BMI panel: error, and coverage of its intervals.

For every panel task (``benchmarks/mi_benchmark.py``; none of them is in ``mist``'s training
distribution, see ``docs/measures/mi.md``) and seed, one sample of ``--n`` rows is drawn and,
on identical samples:

* ``mist``: median estimate and its quantile intervals, 90 % ``[q0.05, q0.95]`` and 95 %
  ``[q0.025, q0.975]``;
* ``auto`` (the library's default estimator);
* ``ksg`` (k = 5) with ``--boot`` bootstrap resamples (rows drawn with replacement; skipped
  where ``mist`` refuses the task) and their percentile intervals. Resampling with
  replacement duplicates rows, which KSG reads as neighbours at distance ~0: the replicates
  are biased upward. The script therefore also prints the percentile interval shifted by
  ``estimate - mean(replicates)`` ("recentred").

Both regimes are run: the full sample (``--n``, 5000 as in the benchmark; ``mist`` averages
its 256-row chunks) and its first ``--small-n`` rows (256: one ``mist`` chunk), where every
estimator sees the same few rows.

Prints per task the truth and mean estimates, then per estimator the mean absolute error
(nats), tasks solved (mean estimate within a factor 1.5 of the truth) and the empirical
coverage of each interval over tasks x seeds. ``mist`` refuses the 25 x 25 task (more than 8
columns a side); its summary is over the other 8, and ``auto`` and ``ksg`` are summarised over
the same 8 (and over all 9 for the record).

Needs BMI for the tasks: ``bash scripts/setup_bench.sh``, then
``.venv-bench/bin/python benchmarks/mist_eval.py``. Records (one JSON line per estimate) go to
``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mi_benchmark import PANEL, load_tasks, solved  # noqa: E402


def ksg_bootstrap(x: np.ndarray, y: np.ndarray, boot: int, seed: int) -> tuple[float, np.ndarray]:
    """KSG (k = 5) estimate and ``boot`` estimates on resamples drawn with replacement."""
    from infofusion.measures.mi import create_estimator

    ksg = create_estimator("ksg")
    rng = np.random.default_rng([seed, 7])
    n = x.shape[0]
    reps = []
    for _ in range(boot):
        idx = rng.integers(0, n, n)
        reps.append(ksg.estimate(x[idx], y[idx]).value)
    return ksg.estimate(x, y).value, np.asarray(reps)


def run_one(
    x: np.ndarray, y: np.ndarray, seed: int, boot: int, cached: dict | None, checkpoint: str = ""
) -> dict:
    """Every estimator on one sample: values, intervals and times.

    ``cached``: an earlier record of the same task, seed, n and ``boot``; its ``auto`` and
    ``ksg`` results are reused (both are deterministic given the sample and the seed), ``mist``
    is always recomputed.
    """
    from infofusion.errors import EstimationError
    from infofusion.measures.mi import create_estimator

    out: dict = {}
    t0 = time.perf_counter()
    try:
        est = create_estimator("mist", seed=seed, checkpoint=checkpoint).estimate(x, y)
        q = est.extra["quantiles"]
        out["mist"] = {
            "value": est.value,
            "ci90": [q["q0.05"], q["q0.95"]],
            "ci95": list(est.ci),
            "chunks": est.extra["chunks"],
        }
    except EstimationError as exc:
        out["mist"] = {"error": str(exc)}
    out["mist"]["seconds"] = time.perf_counter() - t0
    if cached is not None:
        out["auto"], out["ksg"] = cached["auto"], cached["ksg"]
        return out
    t0 = time.perf_counter()
    out["auto"] = {"value": create_estimator("auto", seed=seed).estimate(x, y).value}
    out["auto"]["seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # the bootstrap serves the coverage comparison, which needs mist's interval beside it
    value, reps = ksg_bootstrap(x, y, boot if "error" not in out["mist"] else 0, seed)
    out["ksg"] = {"value": value, "boot_mean": float(reps.mean()) if len(reps) else math.nan}
    if len(reps):
        shift = value - reps.mean()
        for level, (lo, hi) in (("90", (5, 95)), ("95", (2.5, 97.5))):
            out["ksg"][f"ci{level}"] = np.percentile(reps, [lo, hi]).tolist()
            out["ksg"][f"ci{level}_recentred"] = (np.percentile(reps, [lo, hi]) + shift).tolist()
    out["ksg"]["seconds"] = time.perf_counter() - t0
    return out


INTERVALS = [
    ("mist", "ci90"),
    ("mist", "ci95"),
    ("ksg", "ci90"),
    ("ksg", "ci95"),
    ("ksg", "ci90_recentred"),
    ("ksg", "ci95_recentred"),
]


def report(results: dict, truths: dict, regime: str) -> None:
    tasks = list(truths)
    ok = [t for t in tasks if all("error" not in r["mist"] for r in results[t])]
    print(f"\n=== {regime}: mean estimate per task over {len(results[tasks[0]])} seeds ===")
    print(f"{'task':38s} {'truth':>7s} {'mist':>7s} {'auto':>7s} {'ksg':>7s}")
    for t in tasks:
        row = [
            np.mean([r[e]["value"] for r in results[t]]) if t in ok or e != "mist" else math.nan
            for e in ("mist", "auto", "ksg")
        ]
        print(
            f"{t:38s} {truths[t]:7.3f} "
            + " ".join(f"{v:7.3f}" if math.isfinite(v) else f"{'n/a':>7s}" for v in row)
        )
    print(f"\n{'estimator':10s} {'tasks':>5s} {'MAE (nats)':>10s} {'solved':>7s} {'median s':>9s}")
    for e in ("mist", "auto", "ksg"):
        for subset, label in ((ok, f"{len(ok)}"), (tasks, f"{len(tasks)}")):
            if e == "mist" and subset is tasks and len(ok) < len(tasks):
                continue
            means = {t: float(np.mean([r[e]["value"] for r in results[t]])) for t in subset}
            mae = np.mean([abs(means[t] - truths[t]) for t in subset])
            won = sum(solved(means[t], truths[t]) for t in subset)
            # ksg's time includes its bootstrap (where it ran)
            secs = np.median([r[e]["seconds"] for t in subset for r in results[t]])
            print(f"{e:10s} {label:>5s} {mae:10.3f} {won:5d}/{len(subset)} {secs:9.2f}")
    print(f"\ninterval coverage of the truth over {len(ok)} tasks x seeds (mean width, nats)")
    for e, key in INTERVALS:
        hits, widths = [], []
        for t in ok:
            for r in results[t]:
                lo, hi = r[e][key]
                hits.append(lo <= truths[t] <= hi)
                widths.append(hi - lo)
        print(
            f"  {e} {key:15s} {np.mean(hits):6.2f} ({sum(hits)}/{len(hits)})  width {np.mean(widths):.3f}"
        )
    print("per task, coverage of mist ci90 / ci95 and ksg ci95_recentred:")
    for t in ok:
        c = [
            sum(r[e][k][0] <= truths[t] <= r[e][k][1] for r in results[t])
            for e, k in (("mist", "ci90"), ("mist", "ci95"), ("ksg", "ci95_recentred"))
        ]
        print(f"  {t:38s} " + "  ".join(f"{v}/{len(results[t])}" for v in c))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--small-n", type=int, default=256)
    ap.add_argument("--boot", type=int, default=50)
    ap.add_argument("--tasks", nargs="*", default=list(PANEL))
    ap.add_argument("--out", type=Path, default=Path("results/mist_eval.jsonl"))
    ap.add_argument(
        "--checkpoint",
        default="",
        help="a checkpoint of scripts/train_mist.py (its .json beside it); empty: the shipped one",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="take auto and ksg from records already in --out (same task, seed, n, boot)",
    )
    args = ap.parse_args(argv)

    import torch

    from infofusion.measures.mi.mist import training_record

    torch.set_num_threads(1)
    rec = (
        json.loads(Path(args.checkpoint).with_suffix(".json").read_text())
        if args.checkpoint
        else training_record()
    )
    print(
        f"mist checkpoint: {rec['steps']} steps, {rec['datasets_seen']} datasets, final validation "
        f"pinball {rec['final_validation']['val_pinball']:.4f} ({rec['command']})"
    )
    tasks = load_tasks(args.tasks)
    truths = {t: float(task.mutual_information) for t, task in tasks.items()}
    regimes = {f"n = {args.n}": args.n, f"n = {args.small_n}": args.small_n}
    results = {reg: {t: [] for t in tasks} for reg in regimes}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cache = {}
    if args.reuse and args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            cache[(r["task"], r["seed"], r["n"], r["boot"])] = r
    with args.out.open("a") as fh:
        for tname, task in tasks.items():
            for seed in range(args.seeds):
                x, y = (np.asarray(a, dtype=np.float64) for a in task.sample(args.n, seed=seed))
                for reg, n in regimes.items():
                    cached = cache.get((tname, seed, n, args.boot))
                    res = run_one(x[:n], y[:n], seed, args.boot, cached, args.checkpoint)
                    results[reg][tname].append(res)
                    rec = {"task": tname, "seed": seed, "n": n, "boot": args.boot}
                    rec |= {"truth": truths[tname], **res}
                    fh.write(json.dumps(rec) + "\n")
                    fh.flush()
                    m = res["mist"].get("value", math.nan)
                    print(
                        f"{tname:38s} seed {seed} n {n:5d}  truth {truths[tname]:.3f}  mist {m:.3f}  "
                        f"auto {res['auto']['value']:.3f}  ksg {res['ksg']['value']:.3f} "
                        f"(boot mean {res['ksg']['boot_mean']:.3f})",
                        flush=True,
                    )
    for reg in regimes:
        report(results[reg], truths, reg)


if __name__ == "__main__":
    main()
