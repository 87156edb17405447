"""Dataset-level interaction profile (R, U1, U2, S in bits) of every built-in dataset.

For each dataset that loads on this machine: the k-means + exact-BROJA estimate with its null
level and bootstrap interval (first two modalities), and, for two-modality classification
data, the batch neural estimate. Datasets needing files that are absent are listed as skipped.
Records are appended to ``runs/pid/datasets.jsonl``.

Usage::

    python benchmarks/pid_datasets.py [--boot 50] [--perm 30] [--k 10] [--no-neural]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

SPECS = [
    "synthetic:redundancy",
    "synthetic:uniqueness1",
    "synthetic:uniqueness2",
    "synthetic:synergy",
    "synthetic:mixed",
    "synthetic:synergy3",
    "synthetic:mixed3",
    "digits",
    "uci_mfeat",
]


def main() -> None:
    import torch

    torch.set_num_threads(2)
    from infofusion.api import analyze
    from infofusion.data import load_dataset
    from infofusion.measures.pid import BatchNeuralPID

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boot", type=int, default=50)
    ap.add_argument("--perm", type=int, default=30)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--no-neural", action="store_true")
    ap.add_argument("--out", default="runs/pid")
    args = ap.parse_args()
    print(f"{'dataset':24} {'N':>6} | k-means+BROJA corrected [95% CI] (null mean)            | batch neural")
    for spec in SPECS:
        try:
            ds = load_dataset(spec)
        except Exception as exc:  # a dataset whose files are not here
            print(f"{spec:24} skipped: {type(exc).__name__}: {str(exc)[:80]}")
            continue
        res = analyze(
            ds, estimator="plugin", k=args.k, n_boot=args.boot, n_perm=args.perm, pointwise=False,
            out_dir=None, records=os.path.join(args.out, "datasets.jsonl"), console=False,
        )
        cells = "  ".join(
            f"{a}={e.value:.3f}[{e.ci[0]:.3f},{e.ci[1]:.3f}]({e.null_mean:.3f})"
            for a, e in res.estimate.atoms.items()
        )
        neural = ""
        if not args.no_neural and ds.task == "classification":
            est = BatchNeuralPID(n_eval_batches=8).estimate(ds)
            neural = " ".join(f"{a}={est.atoms[a].value:.3f}" for a in ("R", "U1", "U2", "S"))
        print(f"{spec:24} {ds.n:>6} | {cells} | {neural}", flush=True)
        if res.multi is not None:
            m = res.multi
            uniq = ", ".join(f"{k}={v:.3f}" for k, v in m["unique"].items())
            print(f"{'':24} {'':>6} | M={len(m['names'])}: unique vs rest {uniq}; O-information {m['o_information']:.3f}")


if __name__ == "__main__":
    main()
