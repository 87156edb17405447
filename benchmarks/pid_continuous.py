"""The continuous path: PID estimators on the synthetic suite against the latent truth.

For every task of ``synthetic:<task>`` the exact atoms of its latent discrete structure
(``info["latent_pid_bits"]``, the exact solver on the latent joint) are the truth. Each
candidate path runs on the noise-free variant (``clean=True``: no Gaussian noise, no nuisance
factors, so each modality is an invertible function of its latent symbol) and on the default
noisy one:

* ``plugin``        k-means (k = 10) on standardised features, or each distinct row as is
                    when a modality takes few values; bias-corrected plug-in PID.
* ``plugin/model``  the same on cross-fitted unimodal class probabilities.
* ``batch``         the batch neural estimator.

Prints, per task and variant, each atom's estimate minus the truth and the seconds taken, then
the mean absolute error per path (the default of ``infofusion analyze`` is the lowest on the
suite), and the full ``infofusion analyze`` default (including the per-sample composition) on
each noise-free two-modality task with its time, against the target: every atom within 0.1
bits in under a minute.

Usage::

    python benchmarks/pid_continuous.py [--n 4000] [--paths plugin,plugin/model,batch]
        [--tasks redundancy,...] [--no-default]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ATOMS = ("R", "U1", "U2", "S")
TWO = ("redundancy", "uniqueness1", "uniqueness2", "synergy", "mixed")
THREE = ("redundancy3", "uniqueness3", "synergy3", "mixed3")


def run_path(path: str, ds, seed: int = 0):
    from infofusion.measures.pid.estimators import create_estimator

    if path == "plugin":
        est = create_estimator("plugin", seed=seed)
    elif path == "plugin/model":
        est = create_estimator("plugin", representation="model", seed=seed)
    elif path == "batch":
        est = create_estimator("batch", seed=seed)
    else:
        raise SystemExit(f"unknown path {path!r}")
    t = time.perf_counter()
    res = est.estimate(ds)
    return res.values(), time.perf_counter() - t


def main() -> None:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from infofusion.api import analyze
    from infofusion.data import load_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--paths", default="plugin,plugin/model,batch")
    ap.add_argument("--tasks", default=",".join(TWO + THREE))
    ap.add_argument("--no-default", action="store_true")
    args = ap.parse_args()
    paths = args.paths.split(",")
    tasks = args.tasks.split(",")
    print(f"N = {args.n}; entries: estimate - latent truth (bits) for R U1 U2 S, and seconds")
    head = f"{'task':12} {'variant':6} {'truth R/U1/U2/S':>24} | " + " | ".join(f"{p:>32}" for p in paths)
    print(head)
    print("-" * len(head))
    errors: dict[str, dict[str, list[float]]] = {p: {"clean": [], "noisy": []} for p in paths}
    for task in tasks:
        for variant in ("clean", "noisy"):
            opts = {"n": args.n}
            if variant == "clean":
                opts["clean"] = True
            ds = load_dataset(f"synthetic:{task}", **opts)
            truth = ds.info["latent_pid_bits"]
            cells = []
            for p in paths:
                vals, sec = run_path(p, ds)
                err = np.array([vals[a] - truth[a] for a in ATOMS])
                if task in TWO:
                    errors[p][variant] += list(np.abs(err))
                cells.append(" ".join(f"{e:+.2f}" for e in err) + f" {sec:5.1f}s")
            tv = " ".join(f"{truth[a]:5.2f}" for a in ATOMS)
            print(f"{task:12} {variant:6} {tv:>24} | " + " | ".join(f"{c:>32}" for c in cells), flush=True)
    print("\nmean |error| over the two-modality tasks (bits):")
    for p in paths:
        print(f"  {p:14} clean {np.mean(errors[p]['clean']):.3f}  noisy {np.mean(errors[p]['noisy']):.3f}")
    if args.no_default:
        return
    print("\n`infofusion analyze` with its defaults on the noise-free two-modality tasks:")
    ok = True
    for task in TWO:
        ds = load_dataset(f"synthetic:{task}", n=args.n, clean=True)
        truth = ds.info["latent_pid_bits"]
        t = time.perf_counter()
        res = analyze(ds, out_dir=None, console=False)
        sec = time.perf_counter() - t
        err = {a: res.estimate.atoms[a].value - truth[a] for a in ATOMS}
        worst = max(abs(v) for v in err.values())
        ok &= worst <= 0.1 and sec < 60
        print(f"  {task:12} " + " ".join(f"{a}={res.estimate.atoms[a].value:.3f}({err[a]:+.3f})" for a in ATOMS)
              + f"  worst {worst:.3f} bits, {sec:.1f} s ({res.analysis.estimator})")
    print(f"target (every atom within 0.1 bits, under 60 s each): {'MET' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
