"""How fast the safe unpickler refuses hostile pickles, and what its bounds cost on data.

Part 1 -- hostile pickles (each a few hundred bytes), each loaded in a fresh process through
``load_dataset("mmsa:FILE")`` (the path a user's file takes) with a time limit:

* ``deep``: a list nested 5000 deep;
* ``shared``: 8 levels of a list holding the previous level 10 times (10^8 elements reached);
* ``hashbomb``: a dict whose key is a tuple nesting shared tuples 40 deep (2^40 to hash);
* ``range``: ``list(range(10**8))`` through an admitted constructor.

It prints the seconds until the loader gave up and how (error class and message start).

Part 2 -- data pickles, loaded in this process, alternating, best of ``--repeats``:
``safe_load`` against the unsafe C ``pickle.load`` of the same file, for a dict of large
arrays (how MMSA/MulT files are laid out), a MAG-BERT-like list of per-sample tuples (small
arrays and word lists), and a flat list of Python floats. Ratios > 1 mean slower than pickle.

Run: ``python benchmarks/pickle_bounds.py`` (``--limit`` seconds per hostile case, default 60).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _laughs(levels: int) -> list:
    x: list = [0] * 10
    for _ in range(levels - 1):
        x = [x] * 10
    return x


HOSTILE = {
    "deep": b"\x80\x04]" + b"(]" * 4999 + b"e" * 4999 + b".",
    "shared": pickle.dumps({"train": _laughs(8)}, protocol=4),
    "hashbomb": b"\x80\x04}" + b"K\x01\x85" + b"2\x86" * 40 + b"K\x01s.",
    "range": b"\x80\x04cbuiltins\nlist\ncbuiltins\nrange\nJ\x00\xe1\xf5\x05\x85R\x85R.",
}


def _child(path: str) -> None:
    import torch

    torch.set_num_threads(1)
    from infofusion.data import load_dataset

    t0 = time.perf_counter()
    try:
        load_dataset(f"mmsa:{path}")
        outcome = "loaded (!)"
    except BaseException as exc:  # noqa: BLE001 - reported
        outcome = f"{type(exc).__name__}: {str(exc).split(': ', 1)[-1][:70]}"
    print(json.dumps({"seconds": time.perf_counter() - t0, "outcome": outcome}))


def hostile(limit: float, workdir: str) -> None:
    print(f"hostile pickles through load_dataset('mmsa:FILE') (limit {limit:.0f} s each):")
    for name, blob in HOSTILE.items():
        path = os.path.join(workdir, f"{name}.pkl")
        with open(path, "wb") as fh:
            fh.write(blob)
        try:
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--_child", path],
                capture_output=True, text=True, timeout=limit,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"  {name:9s} {len(blob):5d} B  refused after {r['seconds']:7.3f} s  {r['outcome']}"
            )
        except subprocess.TimeoutExpired:
            print(f"  {name:9s} {len(blob):5d} B  still running after {limit:.0f} s (killed)")


def data(repeats: int, workdir: str) -> None:
    import numpy as np

    from infofusion.data.safe_pickle import safe_load

    rng = np.random.default_rng(0)
    arrays = {
        s: {
            "text": rng.normal(size=(k, 50, 64)).astype(np.float32),
            "audio": rng.normal(size=(k, 50, 74)).astype(np.float32),
            "id": np.array([f"v{i}" for i in range(k)], dtype=object),
        }
        for s, k in (("train", 1200), ("valid", 200), ("test", 300))
    }
    samples = []
    for i in range(2000):
        t = int(rng.integers(5, 40))
        samples.append(
            (([f"w{j}" for j in range(t)], rng.normal(size=(t, 47)), rng.normal(size=(t, 74))),
             np.array([[0.5]]), f"seg{i}")
        )  # fmt: skip
    files = {
        "arrays dict": {"data": arrays},
        "per-sample tuples": {"train": samples},
        "flat float list": rng.normal(size=300_000).tolist(),
    }
    print(f"\ndata pickles: safe_load vs unsafe pickle.load, best of {repeats} (alternating):")
    for name, obj in files.items():
        path = os.path.join(workdir, "data.pkl")
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=4)
        size = os.path.getsize(path) / 2**20
        best = {"plain": float("inf"), "safe": float("inf")}
        for _ in range(repeats):
            for mode in best:
                t0 = time.perf_counter()
                if mode == "plain":
                    with open(path, "rb") as fh:
                        pickle.load(fh)
                else:
                    safe_load(path)
                best[mode] = min(best[mode], time.perf_counter() - t0)
        print(
            f"  {name:18s} {size:7.1f} MiB  pickle.load {best['plain']:6.3f} s  safe_load "
            f"{best['safe']:6.3f} s  -> ratio {best['safe'] / best['plain']:5.2f}x"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        _child(args._child)
        return
    with tempfile.TemporaryDirectory(prefix="pickle_bounds_") as workdir:
        hostile(args.limit, workdir)
        data(args.repeats, workdir)


if __name__ == "__main__":
    main()
