"""One Markdown table from ``infofusion bench`` records: accuracy, synergy indicators and time
relative to joint fusion, per dataset and method.

Columns: test accuracy (validation accuracy of the same selected weights beside it),
``synergy_separate`` (share of test samples the method gets right while
every separately trained unimodal model of the same seed errs), ``synergy_branches`` (same
against the method's own unimodal branches, where it has them), and the training epoch time
(``timings.train_epoch_mean``) and whole fit time (``timings.fit``) divided by joint fusion's of
the same seed in the same bench invocation, averaged over seeds. Values are mean ± population
std over seeds. The time ratios come from runs done one after the other, so they carry the
machine's load changes; ``benchmarks/fusion_cost.py`` measures epoch times interleaved.

    python benchmarks/fusion_table.py results/issue12/*/results.jsonl
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict

from infofusion.interfaces import read_records


def _cell(values: list[float], digits: int = 3) -> str:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return "–"
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    records = [r for f in args.files for r in read_records(f)]
    by_cell: dict[tuple[str, str], dict[int, object]] = defaultdict(dict)
    order: list[tuple[str, str]] = []
    for r in records:
        key = (str(r.config.get("data")), str(r.config.get("label") or r.config.get("method")))
        if key not in by_cell:
            order.append(key)
        by_cell[key][r.seed] = r
    print("| data | method | seeds | accuracy | valid accuracy | synergy_separate | synergy_branches "
          "| epoch time / joint | fit time / joint |")
    print("|---|---|---|---|---|---|---|---|---|")
    for data, method in order:
        runs = by_cell[(data, method)]
        joint = by_cell.get((data, "joint"), {})
        acc = [r.metrics.get("test/accuracy") for r in runs.values()]  # type: ignore[attr-defined]
        val = [r.metrics.get("valid/accuracy") for r in runs.values()]  # type: ignore[attr-defined]
        sep = [r.metrics.get("test/synergy_separate") for r in runs.values()]  # type: ignore[attr-defined]
        br = [r.metrics.get("test/synergy_branches") for r in runs.values()]  # type: ignore[attr-defined]
        ratios: dict[str, list[float]] = {"train_epoch_mean": [], "fit": []}
        for seed, r in runs.items():
            ref = joint.get(seed)
            if ref is None:
                continue
            for k in ratios:
                ratios[k].append(r.timings[k] / ref.timings[k])  # type: ignore[attr-defined]
        print(f"| {data} | {method} | {len(runs)} | {_cell(acc)} | {_cell(val)} | {_cell(sep)} | {_cell(br)} | "
              f"{_cell(ratios['train_epoch_mean'], 2)} | {_cell(ratios['fit'], 2)} |")


if __name__ == "__main__":
    main()
