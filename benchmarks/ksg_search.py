"""KSG neighbour searches against each other: KD-trees, torch brute force, compiled brute force.

For each sample size N and joint dimension D (split evenly between X and Y; correlated
Gaussian data), times one KSG estimate (k = 5 unless ``--k``) with every search, interleaved
and best of ``--repeat`` after one untimed warm-up of each, and prints the times, the ratios to
the trees and which search ``neighbors="auto"`` picks (``*`` marks the fastest). Every search
gives the same estimate; the script checks it. First it times the first compiled search in a
new process, once with an empty numba cache (the one-off compilation) and once with the cache
filled. The compiled search needs numba (the ``fast`` extra); without it those columns are
skipped.

    .venv/bin/python benchmarks/ksg_search.py                 # N = 1000, 5000, 20000
    .venv/bin/python benchmarks/ksg_search.py --n 5000 --dims 10 50

Times are wall-clock on whatever machine runs this; only ratios within one run compare. The
trees use every core (scipy's ``workers=-1`` and one thread per space for the counts), the
compiled search every core by default (``threads=0``); the torch search runs on one thread.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from infofusion.measures.mi import create_estimator
from infofusion.measures.mi._brute import compiled_available
from infofusion.measures.mi.ksg import use_brute
from infofusion.training.config import usable_cores


def _sample(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dx = max(1, d // 2)
    x = rng.standard_normal((n, dx))
    y = rng.standard_normal((n, d - dx))
    m = min(dx, d - dx)
    y[:, :m] += 0.7 * x[:, :m]
    return x, y


_FIRST_CALL = """
import time
import numpy as np
from infofusion.measures.mi._brute import brute_neighbours
t0 = time.perf_counter()
x = np.random.default_rng(0).standard_normal((100, 4))
brute_neighbours([x[:, :2], x[:, 2:]], 3, [(0,), (1,)], kernel="compiled")
print(time.perf_counter() - t0)
"""


def first_call_seconds() -> tuple[float, float]:
    """Seconds of the first compiled search in a new process: with an empty numba cache
    (compiling), then again with the cache that run wrote (loading)."""
    times = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True
            )
            if out.returncode:
                raise SystemExit(out.stderr)
            times.append(float(out.stdout.split()[-1]))
    return times[0], times[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="*", default=[1000, 5000, 20000])
    ap.add_argument("--dims", type=int, nargs="*", default=[2, 4, 6, 8, 10, 25, 50])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    searches = {
        "tree": {"neighbors": "tree"},
        "torch 1 thread": {"neighbors": "brute", "kernel": "torch", "threads": 1},
    }
    if compiled_available():
        cold, warm = first_call_seconds()
        print(
            f"first compiled search in a new process: {cold:.1f} s with an empty numba cache "
            f"(compiling), {warm:.2f} s with the cache filled (numba's import included)"
        )
        searches["compiled 1 thread"] = {"neighbors": "brute", "kernel": "compiled", "threads": 1}
        searches[f"compiled {usable_cores()} threads"] = {
            "neighbors": "brute",
            "kernel": "compiled",
        }
    else:
        print("numba is not installed: the compiled search is skipped")
    names = list(searches)
    wx, wy = _sample(200, 4, seed=0)
    for name in names:  # untimed: imports and numba's cache load stay out of the table
        create_estimator("ksg", k=args.k, **searches[name]).estimate(wx, wy)
    print(f"{'N':>6s} {'D':>3s} " + " ".join(f"{s:>20s}" for s in names) + "   auto picks")
    for n in args.n:
        for d in args.dims:
            x, y = _sample(n, d, seed=d)
            best = dict.fromkeys(names, np.inf)
            values = {}
            for _ in range(args.repeat):
                for name in names:
                    est = create_estimator("ksg", k=args.k, **searches[name])
                    t0 = time.perf_counter()
                    values[name] = est.estimate(x, y).value
                    best[name] = min(best[name], time.perf_counter() - t0)
            spread = max(values.values()) - min(values.values())
            if spread > 1e-9:
                raise SystemExit(f"searches disagree at N={n}, D={d}: {values}")
            kernel = "compiled" if compiled_available() else "torch"
            auto = "brute" if use_brute(n, d, "auto", kernel) else "tree"
            fastest = min(best, key=best.get)
            cells = []
            for name in names:
                mark = "*" if name == fastest else " "
                cells.append(f"{best[name]:8.4f}s ({best['tree'] / best[name]:5.1f}x){mark}")
            print(f"{n:6d} {d:3d} " + " ".join(f"{c:>20s}" for c in cells) + f"   {auto}")


if __name__ == "__main__":
    main()
