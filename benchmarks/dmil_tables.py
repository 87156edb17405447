"""Compact tables of DMIL's evaluation from run records (``results.jsonl`` of ``infofusion bench``,
JSON lines of ``infofusion train``).

    python benchmarks/dmil_tables.py accuracy results/eval/bench/results.jsonl
    python benchmarks/dmil_tables.py ablations results/eval/bench/results.jsonl results/eval/ablations.jsonl

``accuracy``: per dataset and method the test accuracy, the synergy indicator against the
method's own branches (``synergy_branches``) and against separately trained unimodal models
(``synergy_separate``), mean ± std over seeds; then the training time per epoch of every method
relative to joint fusion (``timings.train_epoch_mean``, the ratio taken per seed within the same
run, then mean ± std); then the paper's two accuracy claims (DMIL >= joint on synergy-dominant
data, DMIL >= ensemble on redundancy-dominant data) with the mean difference and its standard
error over seeds.

``ablations``: test accuracy of DMIL with its default options (from the first file) and of every
variant that differs from the defaults in one option (from the others), per dataset.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

SYNERGY_DOMINANT = ("synthetic:synergy", "synthetic:synergy3")
REDUNDANCY_DOMINANT = ("synthetic:redundancy",)
DEFAULTS = {"variational": True, "decomposition": "full", "gate": "learned"}


def load(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines() if line.strip()]


def mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "–"
    m = sum(values) / len(values)
    s = math.sqrt(sum((v - m) ** 2 for v in values) / len(values))
    return f"{m:.3f} ± {s:.3f}"


def by_key(records: list[dict]) -> dict[tuple[str, str], dict[int, dict]]:
    out: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for r in records:
        out[(r["config"]["data"], r["config"]["label"])][r["seed"]] = r
    return out


def accuracy(records: list[dict]) -> None:
    runs = by_key(records)
    datasets = list(dict.fromkeys(d for d, _ in runs))
    print("| data | method | seeds | test accuracy | synergy_branches | synergy_separate |")
    print("|---|---|---|---|---|---|")
    for d in datasets:
        for (dd, label), seeds in runs.items():
            if dd != d:
                continue
            rs = list(seeds.values())
            cells = [mean_std([r["metrics"].get(f"test/{k}") for r in rs])
                     for k in ("accuracy", "synergy_branches", "synergy_separate")]
            print(f"| {d} | {label} | {len(rs)} | " + " | ".join(cells) + " |")
    print("\ntraining time per epoch relative to joint fusion (same run, ratio per seed, mean ± std)")
    labels = [lab for lab in dict.fromkeys(lab for _, lab in runs) if not lab.startswith("unimodal")]
    print("| data | joint s/epoch | " + " | ".join(labels) + " |")
    print("|---" * (len(labels) + 2) + "|")
    for d in datasets:
        joint = runs.get((d, "joint"), {})
        if not joint:
            continue
        cells = []
        for lab in labels:
            ratios = [runs[(d, lab)][s]["timings"]["train_epoch_mean"] / joint[s]["timings"]["train_epoch_mean"]
                      for s in joint if s in runs.get((d, lab), {})]
            cells.append(mean_std(ratios))
        base = mean_std([r["timings"]["train_epoch_mean"] for r in joint.values()])
        print(f"| {d} | {base} | " + " | ".join(cells) + " |")
    print("\nclaims (difference in test accuracy, paired by seed: mean ± standard error)")
    for data, other in [(d, "joint") for d in SYNERGY_DOMINANT] + [(d, "ensemble") for d in REDUNDANCY_DOMINANT]:
        a, b = runs.get((data, "dmil"), {}), runs.get((data, other), {})
        diffs = [a[s]["metrics"]["test/accuracy"] - b[s]["metrics"]["test/accuracy"] for s in a if s in b]
        if not diffs:
            print(f"- {data}: dmil vs {other}: no paired runs")
            continue
        m = sum(diffs) / len(diffs)
        se = math.sqrt(sum((x - m) ** 2 for x in diffs) / max(len(diffs) - 1, 1) / len(diffs))
        verdict = "held" if m >= 0 else ("not held (within 2 SE)" if m >= -2 * se else "not held")
        print(f"- {data}: dmil - {other} = {m:+.4f} ± {se:.4f} over {len(diffs)} seeds: {verdict}")


def ablations(records: list[dict]) -> None:
    rows: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        if r["config"]["method"] != "dmil":
            continue
        cfg = r["config"]["method_config"]
        changed = [f"{k}={json.dumps(cfg[k]).strip(chr(34)).lower()}" for k, v in DEFAULTS.items() if cfg.get(k) != v]
        rows[(r["config"]["data"], ", ".join(changed) or "default (full DMIL)")].append(r["metrics"]["test/accuracy"])
    print("| data | variant | seeds | test accuracy |")
    print("|---|---|---|---|")
    for data in dict.fromkeys(d for d, _ in rows):
        for (d, variant), accs in rows.items():
            if d == data:
                print(f"| {d} | {variant} | {len(accs)} | {mean_std(accs)} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("table", choices=("accuracy", "ablations"))
    p.add_argument("records", nargs="+", type=Path)
    a = p.parse_args()
    records = load(a.records)
    if a.table == "accuracy":
        accuracy(records)
    else:
        ablations(records)


if __name__ == "__main__":
    main()
