"""What a finished ``infofusion bench`` run folder says beyond its report's tables.

Prints, from ``results.jsonl`` and ``per_sample/`` of one run folder:

* the run's size and time: records, first and last record time, training seconds, robustness
  seconds, peak RSS;
* how many runs reached the epoch cap (single-stage runs, and stages of multi-stage methods);
* per dataset given with ``--seeds-of``, every method's test accuracy per seed (the report shows
  mean +- std, which hides a method that solves a task on some seeds only);
* with ``--weights-of METHOD``, the method's mean per-sample diagnostic ``weight/<modality>`` per
  seed, split by the ground-truth grouping the report uses (``corrupted`` flags where they
  differ between samples).

    python benchmarks/bench_run_summary.py results/bench/<run-id> \\
        --seeds-of synthetic:synergy3 --weights-of btw --weights-data synthetic:mixed_noise,synthetic:mixed3_partial
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from infofusion.report.compare import group_labels, grouping_column
from infofusion.report.per_sample import load_per_sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a bench run folder")
    ap.add_argument("--cap", type=int, default=None, help="epoch cap (default: the run's epochs)")
    ap.add_argument("--seeds-of", default="", help="datasets (comma separated) to print per seed")
    ap.add_argument("--weights-of", default="", help="a method whose weight/<modality> diagnostics to print")
    ap.add_argument("--weights-data", default="", help="datasets (comma separated) for --weights-of")
    args = ap.parse_args()

    recs = [json.loads(line) for line in (args.run / "results.jsonl").read_text().splitlines() if line.strip()]
    manifest = json.loads((args.run / "run.json").read_text())
    cap = args.cap or int(manifest["train"]["epochs"])
    created = [r["created"] for r in recs]
    when = [datetime.datetime.fromtimestamp(t).strftime("%H:%M:%S") for t in (min(created), max(created))]
    print(f"{len(recs)} records, first {when[0]}, last {when[1]} "
          f"({(max(created) - min(created)) / 60:.1f} min between them)")
    train_s = sum(r["timings"].get("wall", 0.0) for r in recs)
    rob_s = sum((r["extra"].get("robustness") or {}).get("seconds", 0.0) for r in recs)
    rss = max(r["metrics"].get("cost/peak_rss_mib", 0.0) for r in recs)
    print(f"training {train_s:.0f} s, robustness sweeps {rob_s:.0f} s, peak RSS {rss:.0f} MiB")

    single = [r for r in recs if "stages" not in r["extra"] and r["extra"].get("epochs_run") is not None]
    at_cap = Counter(r["config"]["data"] for r in single if r["extra"]["epochs_run"] >= cap)
    stages = [s for r in recs for s in r["extra"].get("stages", [])]
    print(f"single-stage runs at the {cap}-epoch cap: {sum(at_cap.values())} of {len(single)} "
          f"({dict(at_cap.most_common())}); stages at the cap: "
          f"{sum(s['epochs'] >= cap for s in stages)} of {len(stages)}")

    by = defaultdict(dict)
    for r in recs:
        by[(r["config"]["data"], r["config"]["label"])][r["seed"]] = r
    for data in filter(None, args.seeds_of.split(",")):
        print(f"\n{data}: test accuracy per seed")
        for (d, label), seeds in sorted(by.items()):
            if d == data:
                accs = [seeds[s]["metrics"].get("test/accuracy", float("nan")) for s in sorted(seeds)]
                print(f"  {label:16s} " + " ".join(f"{a:.3f}" for a in accs))

    for data in filter(None, args.weights_data.split(",")):
        seeds = by.get((data, args.weights_of), {})
        print(f"\n{args.weights_of} on {data}: mean per-sample weight by group, per seed")
        for s in sorted(seeds):
            out = load_per_sample(args.run / seeds[s]["extra"]["per_sample"])
            col = grouping_column(out["truth"])
            groups = group_labels(out["truth"][col]) if col else np.full(len(out["index"]), "all")
            weights = {k: np.asarray(v, dtype=float).ravel() for k, v in out["diagnostics"].items()
                       if k.startswith("weight/")}
            cells = [f"{k}: " + ", ".join(f"{g} {w[groups == g].mean():.3f}" for g in np.unique(groups))
                     for k, w in sorted(weights.items())]
            print(f"  seed {s} (by {col or 'nothing'}): " + "; ".join(cells))


if __name__ == "__main__":
    main()
