"""MCR's per-sample permutation sensitivities against the synthetic suite's ground truth.

Reads the per-sample files of ``infofusion train --method mcr --per-sample DIR`` on a synthetic
task (test split; ``sample_meta["interaction"]`` says which modality carries each sample's
label) and prints, per interaction type, the mean Jensen-Shannon sensitivity of the fused
prediction to permuting each modality (``js/<m>``) and the accuracy under that permutation
(``perm_correct/<m>``), mean ± std over the seeds' files.

    OMP_NUM_THREADS=1 infofusion train --method mcr --data synthetic:mixed --seeds 5 \\
        --epochs 40 --patience 8 --lr 2e-3 --per-sample runs/mcr_mixed
    python benchmarks/mcr_sensitivity.py runs/mcr_mixed

A modality that carries a sample's label should be the one whose permutation moves that
sample's prediction: on ``uniqueness1`` samples ``js/m1`` > ``js/m2``, on ``synergy`` samples
both are large, on ``redundancy`` samples both are small (either modality alone suffices).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from infofusion.report.per_sample import load_per_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="the --per-sample folder of an mcr run")
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.npz"))
    if not files:
        raise SystemExit(f"no .npz files in {args.folder}")
    rows: dict[tuple[str, str], list[float]] = {}
    modalities: list[str] = []
    for f in files:
        out = load_per_sample(f)
        kinds = np.asarray(out["truth"]["interaction"]).astype(str)
        diag = out["diagnostics"]
        modalities = sorted(k.split("/", 1)[1] for k in diag if k.startswith("js/"))
        for kind in sorted(set(kinds)):
            sel = kinds == kind
            for m in modalities:
                rows.setdefault((kind, f"js/{m}"), []).append(float(diag[f"js/{m}"][sel].mean()))
                rows.setdefault((kind, f"perm_correct/{m}"), []).append(float(diag[f"perm_correct/{m}"][sel].mean()))
    cols = [f"js/{m}" for m in modalities] + [f"perm_correct/{m}" for m in modalities]
    print(f"{len(files)} runs; mean ± std over runs of the per-type means (test split)")
    print("| interaction | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for kind in sorted({k for k, _ in rows}):
        cells = [f"{np.mean(rows[(kind, c)]):.3f} ± {np.std(rows[(kind, c)]):.3f}" for c in cols]
        print(f"| {kind} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
