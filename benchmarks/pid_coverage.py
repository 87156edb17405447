"""Calibration of sample-based PID: bias corrections and interval coverage on a panel.

Six discrete cases with known BROJA atoms (computed by the exact solver on the true joint):

* ``independent``   X1, X2 (10 levels each) and Y (2) independent: every atom 0.
* ``noisy_parity``  X_i = 2 u_i + b_i (u_i: 15 nuisance levels, so 30 x 30 x 2 cells),
                    Y = b_1 xor b_2 flipped with probability 0.1: S = 1 - h(0.1) = 0.531 bits.
* ``noisy_copy``    X1 = X2 = 2 u + (Y flipped w.p. 0.1), 10 levels: R = 0.531 bits.
* ``unique``        X1 = 2 u + (Y flipped w.p. 0.1), X2 independent (10 levels): U1 = 0.531.
* ``and_like``      X_i = 2 u_i + b_i (3 nuisance levels), Y = b_1 and b_2 flipped w.p. 0.05.
* ``random``        a fixed Dirichlet(1) joint on 6 x 6 x 3 cells.

For each case and N (default 200, 1000, 5000) the script draws ``--draws`` samples (default
50), estimates the atoms with every correction of ``compare_corrections`` from the same
bootstrap resamples and permutations, and prints per case and N: the truth, the mean corrected
atoms and their mean error, and the empirical coverage of the 95% intervals, for the default
correction; then the mean error of S and the coverage of every correction side by side (the
comparison the default was chosen on). The last lines check the targets: coverage >= 0.90 for
every atom at N >= 1000 and >= 0.80 at N = 200; |mean error of S| <= 0.1 bits on the noisy
parity at N = 1000.

Usage::

    python benchmarks/pid_coverage.py [--draws 50] [--ns 200,1000,5000] [--boot 100]
        [--perm 20] [--workers 2] [--cases noisy_parity,...]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ATOMS = ("R", "U1", "U2", "S")


def panel() -> dict[str, np.ndarray]:
    """The six true joints ``(n1, n2, ny)``."""
    cases: dict[str, np.ndarray] = {"independent": np.ones((10, 10, 2)) / 200}
    p = np.zeros((30, 30, 2))
    for x1 in range(30):
        for x2 in range(30):
            y = (x1 % 2) ^ (x2 % 2)
            p[x1, x2, y] += 0.9
            p[x1, x2, 1 - y] += 0.1
    cases["noisy_parity"] = p / p.sum()
    copy = np.zeros((10, 10, 2))
    uniq = np.zeros((10, 10, 2))
    for y in range(2):
        for u in range(5):
            for bit, w in ((y, 0.9), (1 - y, 0.1)):
                copy[2 * u + bit, 2 * u + bit, y] += w
                uniq[2 * u + bit, :, y] += w
    cases["noisy_copy"] = copy / copy.sum()
    cases["unique"] = uniq / uniq.sum()
    p = np.zeros((6, 6, 2))
    for x1 in range(6):
        for x2 in range(6):
            y = (x1 % 2) & (x2 % 2)
            p[x1, x2, y] += 0.95
            p[x1, x2, 1 - y] += 0.05
    cases["and_like"] = p / p.sum()
    cases["random"] = np.random.default_rng(7).dirichlet(np.ones(6 * 6 * 3)).reshape(6, 6, 3)
    return cases


def run_cell(job: tuple) -> dict:
    """All draws of one (case, N): per correction, the estimates' errors and coverage."""
    import warnings

    from infofusion.measures.pid import BrojaPID
    from infofusion.measures.pid.estimate import CORRECTIONS, compare_corrections

    warnings.simplefilter("ignore")
    name, p, n, draws, n_boot, n_perm, seed = job
    truth = BrojaPID(progress=False).decompose(p).as_array()
    rng = np.random.default_rng(seed)
    values = {c: [] for c in CORRECTIONS}
    cover = {c: [] for c in CORRECTIONS}
    t0 = time.perf_counter()
    for d in range(draws):
        idx = rng.choice(p.size, size=n, p=p.ravel())
        x1, x2, y = np.unravel_index(idx, p.shape)
        ests = compare_corrections(x1, x2, y, n_boot=n_boot, n_perm=n_perm, seed=seed * 1000 + d)
        for c, e in ests.items():
            values[c].append([e.atoms[a].value for a in ATOMS])
            cover[c].append([e.atoms[a].ci[0] - 1e-9 <= t <= e.atoms[a].ci[1] + 1e-9 for a, t in zip(ATOMS, truth, strict=True)])
    return {
        "case": name, "n": n, "truth": truth, "seconds": time.perf_counter() - t0,
        "mean": {c: np.mean(v, axis=0) for c, v in values.items()},
        "cover": {c: np.mean(v, axis=0) for c, v in cover.items()},
    }


def main() -> None:
    from infofusion.measures.pid.estimate import CORRECTIONS, DEFAULT_CORRECTION

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=50)
    ap.add_argument("--ns", default="200,1000,5000")
    ap.add_argument("--boot", type=int, default=100)
    ap.add_argument("--perm", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cases", default=None)
    args = ap.parse_args()
    cases = panel()
    if args.cases:
        cases = {k: v for k, v in cases.items() if k in args.cases.split(",")}
    ns = [int(v) for v in args.ns.split(",")]
    jobs = [(name, p, n, args.draws, args.boot, args.perm, 17 + i)
            for i, (name, p) in enumerate(cases.items()) for n in ns]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(run_cell, jobs))
    d = DEFAULT_CORRECTION
    print(f"{args.draws} draws per cell, {args.boot} bootstrap resamples, {args.perm} permutations; "
          f"atoms in bits; default correction: {d}; 95% intervals")
    head = f"{'case':13} {'N':>5} | {'truth R/U1/U2/S':>27} | {'mean corrected':>27} | {'mean error':>27} | {'coverage':>19}"
    print(head)
    print("-" * len(head))
    for r in results:
        fmt = " ".join(f"{v:6.3f}" for v in r["truth"])
        mean = " ".join(f"{v:6.3f}" for v in r["mean"][d])
        err = " ".join(f"{v:+6.3f}" for v in r["mean"][d] - r["truth"])
        cov = " ".join(f"{v:4.2f}" for v in r["cover"][d])
        print(f"{r['case']:13} {r['n']:>5} | {fmt} | {mean} | {err} | {cov}")
    print("\nmean error of S (bits) / lowest coverage over the four atoms, per correction:")
    print(f"{'case':13} {'N':>5} | " + " | ".join(f"{c[:13]:>13}" for c in CORRECTIONS))
    for r in results:
        cells = []
        for c in CORRECTIONS:
            e = r["mean"][c][3] - r["truth"][3]
            cells.append(f"{e:+6.3f}/{r['cover'][c].min():4.2f}")
        print(f"{r['case']:13} {r['n']:>5} | " + " | ".join(f"{x:>13}" for x in cells))
    ok_hi = all(r["cover"][d].min() >= 0.90 for r in results if r["n"] >= 1000)
    ok_lo = all(r["cover"][d].min() >= 0.80 for r in results if r["n"] < 1000)
    par = [abs(r["mean"][d][3] - r["truth"][3]) for r in results if r["case"] == "noisy_parity" and r["n"] == 1000]
    print()
    if any(r["n"] >= 1000 for r in results):
        print(f"target coverage >= 0.90 for every atom at N >= 1000: {'MET' if ok_hi else 'NOT met'}")
    if any(r["n"] < 1000 for r in results):
        print(f"target coverage >= 0.80 for every atom at N = 200: {'MET' if ok_lo else 'NOT met'}")
    if par:
        print(f"target |mean error of S| <= 0.1 bits on noisy_parity at N = 1000: {par[0]:.3f} -> "
              f"{'MET' if par[0] <= 0.1 else 'NOT met'}")
    print(f"total {time.perf_counter() - t0:.0f} s with {args.workers} worker process(es)")


if __name__ == "__main__":
    main()
