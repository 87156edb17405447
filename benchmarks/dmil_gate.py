"""Does DMIL's gate track the true interaction type? Reads per-sample outputs, prints two tables.

Input: the ``.npz`` files ``infofusion train --per-sample DIR`` writes (one per seed), from a
dataset with per-sample ground truth (``truth/interaction``, e.g. ``synthetic:mixed``)::

    OMP_NUM_THREADS=1 infofusion train --method dmil --data synthetic:mixed --seeds 5 \\
        --epochs 40 --patience 8 --lr 2e-3 --per-sample results/dmil_gate --out results/dmil_gate.jsonl
    python benchmarks/dmil_gate.py results/dmil_gate

Prints, over the test samples of every file:

1. the confusion matrix of the component with the largest gate weight against the true type
   (counts summed over seeds; rows are true types), with the share of samples whose argmax
   component is the one of their type (R for redundancy, U_<k-th modality> for uniqueness<k>,
   S for synergy), per seed as mean +- std;
2. the mean gate weight of each component per true type, mean +- std over seeds;
3. test accuracy per true type, mean +- std over seeds;
4. accuracy of each component's own sub-prediction (``pred/<component>``) per true type, mean
   over seeds: a component that is right on every type gives the gate no reason to prefer the
   component of the type.

Files without gate weights (another method's per-sample outputs, e.g. ``joint``) get table 3 only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from infofusion.report.gate import (
    TYPE_ORDER,
    component_types,
    gate_by_group,
    gate_confusion,
    gate_matrix,
)
from infofusion.report.per_sample import load_per_sample


def _components(diagnostics: dict) -> list[str]:
    names = [k[len("gate/"):] for k in diagnostics if k.startswith("gate/")]
    order = {"R": 0, "S": 2}
    return sorted(names, key=lambda c: (order.get(c, 1), c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="folder of per-sample .npz files (one per seed)")
    parser.add_argument("--modalities", nargs="+", default=None,
                        help="modality order for uniqueness<k> (default: the order of the U_ components)")
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.npz"))
    if not files:
        raise SystemExit(f"no .npz files in {args.folder}")
    confusion, hits, means, accs, subs = None, [], [], [], []
    for path in files:
        out = load_per_sample(path)
        if "interaction" not in out["truth"]:
            raise SystemExit(f"{path} has no per-sample ground truth (truth/interaction)")
        truth = out["truth"]["interaction"].astype(str)
        correct = out["prediction"].argmax(axis=1) == out["y"]
        groups = sorted(set(truth), key=lambda t: (TYPE_ORDER.index(t) if t in TYPE_ORDER else 99, t))
        accs.append([float(correct[truth == g].mean()) for g in groups])
        if not _components(out["diagnostics"]):
            continue
        comps, gates = gate_matrix(out["diagnostics"], _components(out["diagnostics"]))
        mods = args.modalities or [c[2:] for c in comps if c.startswith("U_")]
        types = component_types(comps, mods)
        groups, counts = gate_confusion(gates, truth)
        confusion = counts if confusion is None else confusion + counts
        top = np.array(comps)[gates.argmax(axis=1)]
        hits.append(float(np.mean([types.get(c) == t for c, t in zip(top, truth, strict=True)])))
        _, m, _ = gate_by_group(gates, truth)
        means.append(m)
        subs.append([[float((out["diagnostics"][f"pred/{c}"].argmax(axis=1) == out["y"])[truth == g].mean())
                      for c in comps] for g in groups])
    accs_arr = np.array(accs)
    print(f"{len(files)} runs, {int(sum(len(load_per_sample(p)['y']) for p in files))} test samples in all\n")
    if confusion is None:
        _print_accuracy(groups, accs_arr)
        return
    means_arr = np.stack(means)
    print("1. argmax gate (columns) vs true type (rows), counts summed over runs")
    print("| true type | " + " | ".join(comps) + " |")
    print("|---" * (len(comps) + 1) + "|")
    for g, row in zip(groups, confusion, strict=True):
        print(f"| {g} | " + " | ".join(str(int(v)) for v in row) + " |")
    print(f"\nargmax component = the component of the true type: {np.mean(hits):.3f} ± {np.std(hits):.3f}"
          " (mean ± std over runs)\n")
    print("2. mean gate weight per true type (mean ± std over runs)")
    print("| true type | " + " | ".join(comps) + " |")
    print("|---" * (len(comps) + 1) + "|")
    for i, g in enumerate(groups):
        cells = [f"{means_arr[:, i, j].mean():.3f} ± {means_arr[:, i, j].std():.3f}" for j in range(len(comps))]
        print(f"| {g} | " + " | ".join(cells) + " |")
    print()
    _print_accuracy(groups, accs_arr)
    subs_arr = np.array(subs)  # (runs, groups, components)
    print("\n4. accuracy of each component's sub-prediction per true type (mean over runs)")
    print("| true type | " + " | ".join(comps) + " |")
    print("|---" * (len(comps) + 1) + "|")
    for i, g in enumerate(groups):
        print(f"| {g} | " + " | ".join(f"{subs_arr[:, i, j].mean():.3f}" for j in range(len(comps))) + " |")


def _print_accuracy(groups: list[str], accs: np.ndarray) -> None:
    print("3. test accuracy per true type (mean ± std over runs)")
    print("| " + " | ".join(groups) + " |")
    print("|---" * len(groups) + "|")
    print("| " + " | ".join(f"{accs[:, i].mean():.4f} ± {accs[:, i].std():.4f}" for i in range(len(groups))) + " |")


if __name__ == "__main__":
    main()
