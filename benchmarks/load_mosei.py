"""Load a MOSEI-sized MMSA pickle with ``load_dataset("mmsa:...")`` vs a plain ``pickle.load``.

Fabricates an MMSA feature pickle of CMU-MOSEI's size -- 16k samples x 50 steps x
(768 text + 74 audio + 35 vision) float32, about 2.8 GB, plus ``text_bert``, ids, raw text and
labels, with ``-inf`` audio entries as in the real file -- in a temporary folder, then times,
each in a fresh process so peak memory is measured separately:

* the reference: ``pickle.load`` of the same file (unsafe; what a user would otherwise do);
* ours: the safe unpickler + checks + -inf cleaning + stacking the splits + the validated
  :class:`MultimodalDataset`.

Prints seconds, peak resident memory and the ratios ours / reference. The file is deleted
afterwards unless ``--keep``.

Run: ``python benchmarks/load_mosei.py`` (``--n 2000`` for a quick check). Needs about 6 GB of
free memory and 3 GB of disk. Timings of fresh-memory-heavy work vary a lot on virtual machines
(first touches of memory are slow there), hence alternating repeats, best and median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

MOSEI_SPLITS = {"train": 16326, "valid": 1871, "test": 4659}


def _rss_peak_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB


def _rss_now_gb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def write_file(path: str, n: int, seq: int, dims: tuple[int, int, int], seed: int = 0) -> None:
    """Write the fabricated MMSA pickle (protocol 4, as Python 3 writes by default)."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(seed)
    total = sum(MOSEI_SPLITS.values())
    sizes = {s: round(n * k / total) for s, k in MOSEI_SPLITS.items()}
    sizes["train"] += n - sum(sizes.values())
    data = {}
    offset = 0
    for s, k in sizes.items():
        split = {}
        for key, d in zip(("text", "audio", "vision"), dims, strict=True):
            arr = np.empty((k, seq, d), dtype=np.float32)
            for start in range(0, k, 1024):  # chunked: keeps the float64 temporaries small
                arr[start : start + 1024] = rng.standard_normal(
                    (min(1024, k - start), seq, d), dtype=np.float32
                )
            split[key] = arr
        flat = split["audio"].reshape(-1)
        flat[rng.choice(flat.size, 1000, replace=False)] = -np.inf  # MOSEI audio has -inf
        mask = (np.arange(seq)[None, :] < rng.integers(5, seq + 1, k)[:, None]).astype(np.float64)
        split["text_bert"] = np.stack(
            [rng.integers(100, 30000, (k, seq)) * mask, mask, 0 * mask], 1
        )
        split["regression_labels"] = np.round(rng.uniform(-3, 3, k), 4).astype(np.float32)
        split["classification_labels"] = np.sign(split["regression_labels"]) + 1
        split["id"] = np.array(
            [f"video{(offset + i) // 7}$_${(offset + i) % 7}" for i in range(k)], dtype=object
        )
        split["raw_text"] = np.array(
            [f"utterance number {offset + i}" for i in range(k)], dtype=object
        )
        split["annotations"] = np.array(["Neutral"] * k, dtype=object)
        data[s] = split
        offset += k
    with open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=4)


def measure(mode: str, path: str) -> dict:
    """Run in a child process: load the file one way, report seconds and memory."""
    import pickle

    import numpy as np  # noqa: F401 - imported before timing in both modes

    if mode == "ours":
        import torch

        torch.set_num_threads(2)
        from infofusion.data import load_dataset
    base = _rss_now_gb()
    t0 = time.perf_counter()
    if mode == "plain":
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
        n = sum(len(v["regression_labels"]) for v in obj.values())
    else:
        obj = load_dataset(f"mmsa:{path}")
        n = obj.n
    seconds = time.perf_counter() - t0
    return {"mode": mode, "seconds": seconds, "n": n, "peak_gb": _rss_peak_gb(), "base_gb": base}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16000, help="samples over all splits")
    ap.add_argument("--seq", type=int, default=50)
    ap.add_argument("--dims", type=int, nargs=3, default=(768, 74, 35))
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs of each")
    ap.add_argument("--dir", default=None, help="where to write the file (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the fabricated file")
    ap.add_argument("--file", default=None, help="time an existing file instead (not deleted)")
    ap.add_argument("--_child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        print(json.dumps(measure(*args._child)))
        return

    workdir = tempfile.mkdtemp(prefix="mosei_bench_", dir=args.dir)
    path = args.file or os.path.join(workdir, "aligned_50.pkl")
    try:
        t0 = time.perf_counter()
        if not args.file:
            code = (
                f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
                f"import load_mosei as b; "
                f"b.write_file({path!r}, {args.n}, {args.seq}, {tuple(args.dims)!r})"
            )
            subprocess.run([sys.executable, "-c", code], check=True)
        size_gb = os.path.getsize(path) / 2**30
        print(
            f"{'using' if args.file else 'fabricated'} {path}: {size_gb:.2f} GiB in {time.perf_counter() - t0:.0f} s "
            f"(n={args.n}, seq={args.seq}, dims={tuple(args.dims)})"
        )
        runs: dict[str, list[dict]] = {"plain": [], "ours": []}
        for _ in range(args.repeats):
            for mode in ("plain", "ours"):
                out = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--_child", mode, path],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                runs[mode].append(r)
                print(
                    f"  {mode:5s}: {r['seconds']:6.2f} s   peak RSS {r['peak_gb']:5.2f} GiB "
                    f"(+{r['peak_gb'] - r['base_gb']:.2f} over {r['base_gb']:.2f} at start)"
                )
        import statistics

        best = {m: min(r["seconds"] for r in rs) for m, rs in runs.items()}
        med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
        extra = {m: min(r["peak_gb"] - r["base_gb"] for r in rs) for m, rs in runs.items()}
        print(
            f"best time  : plain pickle.load {best['plain']:.2f} s, infofusion mmsa loader "
            f"{best['ours']:.2f} s -> ratio {best['ours'] / best['plain']:.2f}x"
        )
        print(
            f"median time: plain {med['plain']:.2f} s, ours {med['ours']:.2f} s -> ratio "
            f"{med['ours'] / med['plain']:.2f}x"
        )
        print(
            f"peak memory over start: plain {extra['plain']:.2f} GiB, ours {extra['ours']:.2f} "
            f"GiB -> ratio {extra['ours'] / extra['plain']:.2f}x (file {size_gb:.2f} GiB)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
