"""Markdown tables of a balancing benchmark from its records (docs/methods/balancing.md).

    python scripts/balancing_tables.py results/balancing/imbalance/results.jsonl [...]

Per dataset, one row per method (`train` records of one method with different `--set` options
are told apart by their options): validation and test accuracy, the synergy indicator against separately
trained unimodal models, the linear probes of each encoder where recorded, and the training
time per epoch relative to joint fusion of the same seed (mean ± std over seeds; population
std as everywhere in the project). Records only: nothing is recomputed.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import defaultdict

from infofusion.interfaces import read_records
from infofusion.report.tables import format_cell, summarize


def main(paths: list[str]) -> None:
    records = [r for p in paths for r in read_records(p)]
    for r in records:  # `train` runs of one method with different options get distinct labels
        opts = r.config.get("options") or {}
        if r.kind == "train" and opts:
            r.config["label"] = f"{r.config['method']}[{', '.join(f'{k}={v}' for k, v in sorted(opts.items()))}]"
    by_data: dict[str, list] = defaultdict(list)
    for r in records:
        by_data[str(r.config["data"])].append(r)
    for data, recs in by_data.items():
        joint = {r.seed: r.timings.get("train_epoch_mean") for r in recs if r.config["label"] == "joint"}
        for r in recs:  # ratio to joint fusion of the same seed, in the same bench invocation
            ref = joint.get(r.seed)
            if ref:
                r.metrics["time_x_joint"] = r.timings["train_epoch_mean"] / ref
        probes = sorted({k for r in recs for k in r.metrics if k.startswith("test/probe/")})
        cols = ["valid/accuracy", "test/accuracy", "test/synergy_separate", *probes, "time_x_joint"]
        rows = summarize(recs, cols)
        head = ["method", "seeds", "valid accuracy", "test accuracy", "synergy (separate)", *[f"probe {k.split('/')[2]}" for k in probes], "epoch time / joint"]
        print(f"\n**{data}**\n")
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" for _ in head) + "|")
        for row in rows:
            cells = [row["method"], str(row["seeds"])]
            for c in cols:
                m, s = row.get(c, (math.nan, 0.0))
                cells.append("–" if not math.isfinite(m) else format_cell((m, s), digits=2 if c == "time_x_joint" else 3))
            print("| " + " | ".join(cells) + " |")
        epochs = [r.timings.get("epochs", math.nan) for r in recs if r.config["label"] == "joint"]
        if epochs:
            print(f"\n(joint fusion ran {statistics.mean(epochs):.1f} epochs on average before early stopping)")


if __name__ == "__main__":
    main(sys.argv[1:])
