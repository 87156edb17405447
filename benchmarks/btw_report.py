"""Tables of the BTW evaluation, printed from run records (``results.jsonl`` of ``infofusion
bench`` and ``--out`` files of ``infofusion train``); nothing is re-run here.

Usage::

    python benchmarks/btw_report.py results/btw/*/results.jsonl results/btw/variants.jsonl

Prints, as Markdown:

1. test accuracy (mean +- population std over seeds) of every method on every dataset;
2. the pure-noise modality: joint fusion on ``synthetic:mixed`` vs ``synthetic:mixed_noise``,
   and the share of that loss each method recovers on ``mixed_noise``;
3. the mean final weight of each modality on clean and on corrupted test samples (BTW runs on
   data with ``sample_meta["corrupted"]``);
4. the cost of the weight updates: their seconds as a share of the whole fit, the pre-training
   stages' share, and the fit time relative to joint fusion measured in the same file.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np


def load(paths: list[str]) -> list[dict[str, Any]]:
    rows = []
    for p in paths:
        for line in Path(p).read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                rec["_file"] = p
                rows.append(rec)
    return rows


def label(rec: dict[str, Any]) -> str:
    """The method's name; ``train`` records with options get them appended (``btw[direction=agreement]``)."""
    name = rec["config"].get("label") or rec["config"]["method"]
    options = rec["config"].get("options") or {}
    if rec.get("kind") == "train" and options:
        name += "[" + ",".join(f"{k}={v}" for k, v in sorted(options.items())) + "]"
    return name


def mean_std(values: list[float], scale: float = 1.0) -> str:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float) * scale
    if not len(v):
        return "-"
    return f"{v.mean():.3f} ± {v.std():.3f}" if scale == 1.0 else f"{v.mean():.1f} ± {v.std():.1f}"


def accuracy_table(recs: list[dict[str, Any]], metric: str = "test/accuracy") -> str:
    cell: dict[tuple[str, str], list[float]] = defaultdict(list)
    datasets, methods = [], []
    for r in recs:
        d, m = r["config"]["data"], label(r)
        if metric in r["metrics"]:
            cell[(d, m)].append(r["metrics"][metric])
            datasets += [d] if d not in datasets else []
            methods += [m] if m not in methods else []
    lines = ["| method | " + " | ".join(datasets) + " |", "|---" * (len(datasets) + 1) + "|"]
    for m in methods:
        vals = [f"{mean_std(cell[(d, m)])} ({len(cell[(d, m)])})" if cell[(d, m)] else "" for d in datasets]
        lines.append(f"| {m} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def noise_table(recs: list[dict[str, Any]], base: str = "synthetic:mixed", noisy: str = "synthetic:mixed_noise") -> str:
    acc: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for r in recs:
        if r["config"]["data"] in (base, noisy) and "test/accuracy" in r["metrics"]:
            acc[(r["config"]["data"], label(r))][r["seed"]] = r["metrics"]["test/accuracy"]
    j0, j1 = acc.get((base, "joint"), {}), acc.get((noisy, "joint"), {})
    seeds = sorted(set(j0) & set(j1))
    if not seeds:
        return "(needs joint on both datasets)"
    loss = [j0[s] - j1[s] for s in seeds]
    lines = [
        f"joint on `{base}`: {mean_std([j0[s] for s in seeds])}; on `{noisy}`: {mean_std([j1[s] for s in seeds])}; "
        f"loss from the noise modality: {mean_std(loss)} (per seed: {', '.join(f'{x:+.4f}' for x in loss)})",
        "",
        "| method on noisy data | accuracy | minus joint (noisy) | recovered share of joint's loss |",
        "|---|---|---|---|",
    ]
    total = float(np.mean(loss))
    for (d, m), by_seed in sorted(acc.items()):
        if d != noisy:
            continue
        common = [s for s in seeds if s in by_seed]
        gain = [by_seed[s] - j1[s] for s in common]
        share = f"{np.mean(gain) / total:+.2f}" if total > 0 else "n/a (no loss)"
        lines.append(f"| {m} | {mean_std([by_seed[s] for s in common])} | {mean_std(gain)} | {share} |")
    return "\n".join(lines)


def corrupted_table(recs: list[dict[str, Any]]) -> str:
    cell: dict[tuple[str, str, str], list[list[float | None]]] = defaultdict(list)
    for r in recs:
        by_mod = r.get("extra", {}).get("btw_test_weight_clean_corrupted")
        if by_mod:
            for mod, pair in by_mod.items():
                cell[(r["config"]["data"], label(r), mod)].append(pair)
    lines = ["| dataset | method | modality | clean samples | corrupted samples |", "|---|---|---|---|---|"]
    for (d, m, mod), pairs in sorted(cell.items()):
        clean = [p[0] for p in pairs]
        bad = [p[1] for p in pairs]
        lines.append(f"| {d} | {m} | {mod} | {mean_std(clean)} | {mean_std(bad)} |")
    return "\n".join(lines)


def cost_table(recs: list[dict[str, Any]]) -> str:
    fit: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    upd: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    pre: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in recs:
        key = (r["_file"], r["config"]["data"], label(r))
        fit[key].append(r["timings"]["fit"])
        ex = r.get("extra", {})
        if "btw_update_seconds" in ex:
            upd[key].append(ex["btw_update_seconds"] / r["timings"]["fit"])
            pre[key].append(ex.get("btw_pretrain_seconds", 0.0) / r["timings"]["fit"])
    lines = ["| dataset | method | update share of fit (%) | pre-training share (%) | fit time / joint's |", "|---|---|---|---|---|"]
    for key in sorted(upd):
        f, d, m = key
        joint = fit.get((f, d, "joint"))
        ratio = f"{np.mean(fit[key]) / np.mean(joint):.2f}" if joint else "-"
        lines.append(f"| {d} | {m} | {mean_std(upd[key], 100)} | {mean_std(pre[key], 100)} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    recs = load(a.files)
    print("## Test accuracy (mean ± std over seeds; runs in brackets)\n")
    print(accuracy_table(recs))
    print("\n## A pure-noise modality\n")
    print(noise_table(recs))
    print("\n## Mean final weight on clean vs corrupted test samples\n")
    print(corrupted_table(recs))
    print("\n## Cost of the weight updates\n")
    print(cost_table(recs))


if __name__ == "__main__":
    main()
