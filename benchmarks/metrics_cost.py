"""Share of training time spent computing validation metrics (scikit-learn/scipy protocols).

The trainer evaluates the validation split every epoch: the protocol's metrics for the fused
prediction and for every unimodal branch. This script trains a method with ``fit`` while
timing every ``compute_metrics`` call, and prints, from the same run, the seconds in metrics,
their share of the whole fit, and the milliseconds per call; then the cost of one call per
protocol on a validation-sized input.

    python benchmarks/metrics_cost.py [--method late] [--epochs 20] [--data digits uci_mfeat]
    python benchmarks/metrics_cost.py --against bfbcf19   # also: fit time vs that revision's metrics

``--against REV`` loads ``src/infofusion/evaluation/metrics.py`` as it was at git revision
``REV`` (the hand-written numpy metrics before they moved to scikit-learn/scipy) and times whole
fits with it and with the current module, interleaved, printing the ratio.

Numbers are wall-clock on whatever machine runs this (noisy under load); the share is the
figure to compare. Most of a call's time is scikit-learn's input checking, so the cost per call
barely depends on the number of samples; it grows with the number of classes (one average
precision per class) and with the number of branches (one call each).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import infofusion.evaluation.metrics as M
from infofusion.data import load_dataset
from infofusion.training import TrainConfig, fit


def timed_fit(
    method: str, spec: str, epochs: int, impl: object = None
) -> tuple[float, float, int]:
    """(fit seconds, seconds inside compute_metrics, number of calls); ``impl`` is the
    ``compute_metrics`` to use (default: the current one)."""
    inner = impl or M.compute_metrics
    saved = M.compute_metrics
    spent = [0.0, 0]

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t
            spent[1] += 1

    data = load_dataset(spec)
    M.compute_metrics = timed  # the trainer (and per_modality_metrics) look it up per call
    try:
        t0 = time.perf_counter()
        fit(method, data, TrainConfig(epochs=epochs, patience=0, progress=False))
        total = time.perf_counter() - t0
    finally:
        M.compute_metrics = saved
    return total, spent[0], spent[1]


def load_revision(rev: str) -> object:
    """``compute_metrics`` of ``evaluation/metrics.py`` at git revision ``rev``."""
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(
        ["git", "show", f"{rev}:src/infofusion/evaluation/metrics.py"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "metrics_at_revision.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("metrics_at_revision", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compute_metrics


def compare(method: str, specs: list[str], epochs: int, rev: str, repeats: int = 2) -> None:
    old = load_revision(rev)
    print(f"\nfit time with the metrics of {rev} vs now (best of {repeats}, interleaved):")
    for spec in specs:
        times: dict[str, list[float]] = {"rev": [], "now": []}
        for _ in range(repeats):
            times["rev"].append(timed_fit(method, spec, epochs, old)[0])
            times["now"].append(timed_fit(method, spec, epochs)[0])
        r, n = min(times["rev"]), min(times["now"])
        print(f"  {spec:18s} {rev}: {r:6.2f} s   now: {n:6.2f} s   now/{rev}: {n / r:.2f}")


def per_call(n: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    cases = {
        "classification, 2 classes": (rng.integers(0, 2, n), rng.normal(size=(n, 2)), "classification", None),
        "classification, 10 classes": (rng.integers(0, 10, n), rng.normal(size=(n, 10)), "classification", None),
    }
    for proto in ("regression", "mmsa", "magbert", "mult", "sims"):
        scale = 1.0 if proto == "sims" else 3.0
        cases[proto] = (rng.uniform(-scale, scale, n), rng.uniform(-scale, scale, n), "regression", proto)
    print(f"\none compute_metrics call, n = {n} (best of {repeats}):")
    for name, args in cases.items():
        best = min(_time(M.compute_metrics, *args) for _ in range(repeats))
        print(f"  {name:28s} {best * 1e3:7.2f} ms")


def _time(f, *args) -> float:
    t = time.perf_counter()
    f(*args)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="late")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--data", nargs="+", default=["digits", "uci_mfeat", "synthetic:mixed"])
    ap.add_argument("--n", type=int, default=400, help="samples for the per-call timing")
    ap.add_argument("--against", metavar="REV", help="also compare fit time with REV's metrics")
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    print(f"{args.method}, {args.epochs} epochs, validation every epoch")
    print(f"  {'data':18s} {'fit s':>7s} {'metrics s':>10s} {'share':>6s} {'calls':>6s} {'ms/call':>8s}")
    for spec in args.data:
        total, spent, calls = timed_fit(args.method, spec, args.epochs)
        print(
            f"  {spec:18s} {total:7.2f} {spent:10.2f} {spent / total:6.1%} {calls:6d} "
            f"{spent / max(calls, 1) * 1e3:8.2f}"
        )
    per_call(args.n, repeats=5)
    if args.against:
        compare(args.method, args.data, args.epochs, args.against)


if __name__ == "__main__":
    main()
