"""The comparison report: one self-contained HTML page and its Markdown twin, from results.

Input is a bench run folder (``results.jsonl``, ``run.json``, ``per_sample/``, and any other
``*.jsonl`` below it, e.g. the record of ``infofusion analyze --out <folder>/pid``) or a single
JSON-lines file. Everything shown is computed from the records and per-sample files; no method is
known by name here: methods are the labels found in the records, their families come from the
method registry (``FusionMethod.family``) and per-sample views are drawn from whatever
diagnostics a method wrote, grouped by the dataset's per-sample ground truth.

Per dataset: the score table (mean ± std over seeds, best per column marked), the paired
difference of every method against the baseline (default ``joint``; t interval over seeds,
:mod:`infofusion.evaluation.significance`), the synergy indicator, the complexity table,
robustness curves with relative/effective robustness when the bench ran with ``robustness``,
the interaction profile (PID atoms with intervals) when a ``pid`` record of the dataset is
present, accuracy by ground-truth group and the per-sample diagnostics.

The page is rendered by Jinja2 from one template file (``templates/report.j2``: one macro for
the HTML page, one for the Markdown twin), autoescaping on; figures are
``matplotlib.figure.Figure`` objects embedded as base64 SVG in the HTML and written as PNG files
beside the Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, FormatError
from infofusion.interfaces import RunRecord
from infofusion.report.tables import headline_metrics, record_key, table_title

#: Cost figures shown in the complexity table: metric key -> (header, format).
COST_COLUMNS = {
    "cost/params": ("parameters", "{:,.0f}"),
    "cost/train_s_per_epoch": ("train s / epoch", "{:.3f}"),
    "cost/infer_ms_per_1000": ("inference ms / 1000", "{:.2f}"),
    "cost/peak_rss_mib": ("peak RSS MiB", "{:.0f}"),
    "cost/rss_growth_mib": ("RSS growth MiB", "{:.1f}"),
}


@dataclass
class Results:
    """Records of a results folder or file, split by kind.

    Attributes:
        runs: training/bench records.
        profiles: dataset name -> the latest ``pid`` record of that dataset.
        base: folder that relative per-sample paths are resolved against.
        manifest: the bench run's ``run.json`` (or None).
        source: what was read.
    """

    runs: list[RunRecord]
    profiles: dict[str, RunRecord]
    base: Path
    manifest: dict[str, Any] | None = None
    source: str = ""
    files: list[str] = field(default_factory=list)


def load_results(path: str | Path) -> Results:
    """Read a bench run folder (every ``*.jsonl`` below it) or one JSON-lines file.

    Raises:
        FormatError: missing path, a malformed file (named), or no training record at all.
    """
    import json

    from infofusion.report.records import load_records

    p = Path(path)
    if not p.exists():
        raise FormatError("no such results file or folder", path=p)
    manifest = None
    if p.is_dir():
        files = sorted(p.rglob("*.jsonl"))
        if not files:
            raise FormatError("holds no *.jsonl results file (expected a bench run folder with results.jsonl)", path=p)
        if (p / "run.json").exists():
            try:
                manifest = json.loads((p / "run.json").read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise FormatError(f"run.json is not JSON ({exc})", path=p / "run.json") from None
        base = p
    else:
        files = [p]
        base = p.parent
    records = [r for f in files for r in load_records(f)]
    runs = [r for r in records if r.kind != "pid"]
    profiles: dict[str, RunRecord] = {}
    for r in records:
        if r.kind == "pid":
            profiles[str(r.config.get("data", "?"))] = r  # the last one of a dataset wins
    if not runs:
        raise FormatError("holds no training or bench record to report", path=p)
    return Results(runs, profiles, base, manifest, str(p), [str(f) for f in files])


def _direction(metric: str, protocol: str | None = None) -> bool:
    """True when higher is better for a ``split/metric`` key (unknown metrics: higher)."""
    from infofusion.evaluation.metrics import higher_is_better

    name = metric.split("/")[-1]
    if name.startswith("synergy"):
        return True
    try:
        return higher_is_better(name, protocol)
    except ConfigError:
        return not name.lower().startswith(("mae", "rmse", "loss"))


def _mean_std(values: Sequence[float]) -> tuple[float, float, int]:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return float("nan"), float("nan"), 0
    mean = sum(vals) / len(vals)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals)), len(vals)


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if not isinstance(value, (int, float)) or not math.isfinite(value) else f"{value:.{digits}f}"


def method_info(method: str) -> dict[str, Any]:
    """Family and whether a registered method can express synergy (``?`` when unregistered,
    e.g. a results file of a method this installation lacks)."""
    from infofusion.errors import UnknownComponentError
    from infofusion.registry import get

    try:
        cls = get("method", method)
    except UnknownComponentError:
        return {"family": "?", "synergy": None, "multimodal": True}
    return {"family": getattr(cls, "family", "?"), "synergy": getattr(cls, "expresses_synergy", None),
            "multimodal": bool(cls.multimodal)}


def _per_sample(rec: RunRecord, base: Path) -> dict[str, Any] | None:
    from infofusion.report.per_sample import load_per_sample

    path = rec.extra.get("per_sample")
    if not path:
        return None
    p = Path(path)
    if not p.is_absolute():
        p = base / p
    if not p.exists():
        return None
    return load_per_sample(p)


def _correct(out: dict[str, Any]) -> np.ndarray | None:
    pred = np.asarray(out["prediction"])
    y = np.asarray(out["y"])
    if pred.ndim == 2 and pred.shape[1] > 1:
        return pred.argmax(axis=1) == y
    if pred.ndim == 2:
        pred = pred[:, 0]
    if np.issubdtype(y.dtype, np.integer):
        return (pred > 0).astype(int) == y
    return None


def dataset_section(name: str, runs: list[RunRecord], results: Results, baseline: str,
                    robust_baseline: str, figures: dict[str, Any], level: float = 0.95) -> dict[str, Any]:
    """The context of one dataset's section (tables as rows of strings, figure names, notes)."""
    from infofusion.evaluation.robustness import effective_robustness, relative_robustness
    from infofusion.evaluation.significance import paired_difference
    from infofusion.report import compare_figures as cf

    slug = "".join(c if c.isalnum() else "_" for c in name)
    by_label: dict[str, list[RunRecord]] = {}
    for r in runs:
        by_label.setdefault(record_key(r)[1], []).append(r)
    labels = list(by_label)
    protocol = next((r.config.get("train", {}).get("protocol") for r in runs), None)
    cols = headline_metrics(runs, limit=3)
    cols += [k for k in ("test/synergy_separate", "test/synergy_branches") if any(k in r.metrics for r in runs)]
    primary = cols[0] if cols else None
    section: dict[str, Any] = {"name": name, "slug": slug, "title": table_title(runs), "notes": []}

    # score table
    stats = {lab: {c: _mean_std([r.metrics.get(c, float("nan")) for r in recs]) for c in cols}
             for lab, recs in by_label.items()}
    best = {}
    for c in cols:
        sign = 1 if _direction(c, protocol) else -1
        vals = [(sign * stats[lab][c][0], lab) for lab in labels if math.isfinite(stats[lab][c][0])]
        best[c] = max(vals)[1] if vals else None
    rows = []
    for lab in labels:
        info = method_info(str(by_label[lab][0].config.get("method", lab)))
        cells = [{"text": f"{_fmt(stats[lab][c][0])} ± {_fmt(stats[lab][c][1])}" if stats[lab][c][2] else "–",
                  "best": best[c] == lab} for c in cols]
        rows.append({"label": lab, "family": info["family"], "seeds": len(by_label[lab]),
                     "unimodal": not info["multimodal"], "cells": cells})
    section["columns"] = [c.split("/", 1)[-1] + ("" if _direction(c, protocol) else " (lower is better)") for c in cols]
    section["rows"] = rows
    if primary:
        fig = cf.score_figure(labels, [stats[lab][primary][0] for lab in labels],
                              [stats[lab][primary][1] for lab in labels], primary, f"{name}: {primary} (mean ± std over seeds)")
        figures[f"{slug}_scores"] = fig
        section["score_figure"] = f"{slug}_scores"
        section["best"] = best[primary]
        section["primary"] = primary

    # significance against the baseline
    sig = []
    if primary and baseline in by_label:
        higher = _direction(primary, protocol)
        base_scores = {r.seed: r.metrics.get(primary, float("nan")) for r in by_label[baseline]}
        for lab in labels:
            if lab == baseline:
                continue
            scores = {r.seed: r.metrics.get(primary, float("nan")) for r in by_label[lab]}
            d = paired_difference(scores, base_scores, level, higher)
            sig.append({"label": lab, "diff": _fmt(d.diff, 4), "ci": f"[{_fmt(d.ci[0], 4)}, {_fmt(d.ci[1], 4)}]",
                        "n": d.n, "p": _fmt(d.p_value, 3), "prob": _fmt(d.prob_better, 2),
                        "verdict": d.verdict, "note": d.note})
    elif primary:
        section["notes"].append(f"no '{baseline}' runs on {name}: no paired comparison against the baseline")
    section["significance"] = sig
    section["baseline"] = baseline
    section["level"] = int(round(level * 100))

    # synergy indicator
    syn_key = next((k for k in ("test/synergy_separate", "test/synergy_branches") if k in cols), None)
    if syn_key:
        top = max(((stats[lab][syn_key][0], lab) for lab in labels if math.isfinite(stats[lab][syn_key][0])), default=None)
        if top:
            section["synergy"] = {"key": syn_key.split("/", 1)[1], "value": _fmt(top[0]), "label": top[1],
                                  "percent": f"{100 * top[0]:.1f}"}

    # complexity
    cost_cols = [k for k in COST_COLUMNS if any(k in r.metrics for r in runs)]
    if cost_cols:
        base_t = _mean_std([r.metrics.get("cost/train_s_per_epoch", float("nan")) for r in by_label.get(baseline, [])])[0]
        section["cost_columns"] = [COST_COLUMNS[k][0] for k in cost_cols] + ([f"train time / {baseline}"] if math.isfinite(base_t) else [])
        crow = []
        for lab in labels:
            vals = [_mean_std([r.metrics.get(k, float("nan")) for r in by_label[lab]])[0] for k in cost_cols]
            cells = [COST_COLUMNS[k][1].format(v) if math.isfinite(v) else "–" for k, v in zip(cost_cols, vals, strict=True)]
            if math.isfinite(base_t):
                t = _mean_std([r.metrics.get("cost/train_s_per_epoch", float("nan")) for r in by_label[lab]])[0]
                cells.append(f"{t / base_t:.2f}x" if math.isfinite(t) and base_t > 0 else "–")
            crow.append({"label": lab, "cells": cells})
        section["cost_rows"] = crow

    # robustness
    rob = {lab: [r.extra["robustness"] for r in recs if isinstance(r.extra.get("robustness"), dict)]
           for lab, recs in by_label.items()}
    rob = {lab: v for lab, v in rob.items() if v}
    if rob:
        first = next(iter(rob.values()))[0]
        higher = bool(first.get("higher_is_better", True))
        curves: dict[str, dict[str, Any]] = {}
        mean_curves: dict[str, dict[str, np.ndarray]] = {}
        for lab, items in rob.items():
            curves[lab] = {}
            mean_curves[lab] = {}
            for target in items[0]["noise"]:
                arr = np.array([it["noise"][target] for it in items if target in it["noise"]], dtype=float)
                curves[lab][target] = (items[0]["levels"], arr.mean(axis=0), arr.std(axis=0))
                mean_curves[lab][target] = arr.mean(axis=0)
        figures[f"{slug}_robustness"] = cf.robustness_figure(curves, first.get("metric", "score"),
                                                             f"{name}: test-time Gaussian noise")
        section["robustness_figure"] = f"{slug}_robustness"
        targets = sorted({t for c in mean_curves.values() for t in c}, key=lambda t: (t == "all", t))
        rrows = []
        for lab in rob:
            cells = []
            for t in targets:
                m = mean_curves[lab].get(t)
                if m is None:
                    cells += ["–", "–"]
                    continue
                rr = relative_robustness(rob[lab][0]["levels"], m, higher)
                b = mean_curves.get(robust_baseline, {}).get(t)
                er = effective_robustness(m, b, higher) if b is not None and len(b) == len(m) else float("nan")
                cells += [_fmt(rr), _fmt(er, 4)]
            miss = []
            for mod, by_how in rob[lab][0].get("missing", {}).items():
                vals = {how: _mean_std([it["missing"][mod][how] for it in rob[lab]])[0] for how in by_how}
                miss.append(f"{mod}: {_fmt(vals.get('zero', float('nan')))} / {_fmt(vals.get('mean', float('nan')))}")
            rrows.append({"label": lab, "cells": cells, "clean": _fmt(float(np.mean([it["clean"] for it in rob[lab]]))),
                          "missing": "; ".join(miss)})
        section["robustness_columns"] = [f"{h} ({t})" for t in targets for h in ("RR", "ER")]
        section["robustness_rows"] = rrows
        section["robust_baseline"] = robust_baseline
        section["robust_draws"] = first.get("draws")
        if robust_baseline not in rob:
            section["notes"].append(f"no '{robust_baseline}' robustness curves on {name}: effective robustness (ER) is not defined")

    # interaction profile
    prof = results.profiles.get(name)
    if prof is not None:
        unit = str(prof.extra.get("unit", prof.config.get("unit", "bits")))
        section["notes"] += [f"interaction profile: {n}" for n in prof.extra.get("notes") or []
                             if "per-sample composition skipped" not in n]
        atoms = {a: (prof.metrics[f"pid/{a}"], prof.metrics.get(f"pid/{a}_ci_low", float("nan")),
                     prof.metrics.get(f"pid/{a}_ci_high", float("nan")))
                 for a in ("R", "U1", "U2", "S") if f"pid/{a}" in prof.metrics}
        if atoms:
            mods = prof.config.get("modalities") or ["1", "2"]
            figures[f"{slug}_pid"] = cf.profile_figure(atoms, unit, f"{name}: PID atoms ({', '.join(map(str, mods))})")
            section["pid_figure"] = f"{slug}_pid"
            section["pid"] = [{"atom": a, "value": _fmt(v[0]), "ci": f"[{_fmt(v[1])}, {_fmt(v[2])}]"} for a, v in atoms.items()]
            section["pid_mi"] = {k: _fmt(prof.metrics[f"pid/{k}"]) for k in ("I1", "I2", "I12") if f"pid/{k}" in prof.metrics}
            section["pid_unit"] = unit
            total = sum(max(v[0], 0.0) for v in atoms.values())
            if "S" in atoms and total > 0:
                section["synergy_share"] = f"{100 * max(atoms['S'][0], 0.0) / total:.0f}"
            section["pid_modalities"] = [str(m) for m in mods]
            if all(a in atoms for a in ("R", "U1", "U2", "S")):
                ties: set[str] = set()
                if primary and section.get("best"):
                    hib = _direction(primary, protocol)
                    top_scores = {r.seed: r.metrics.get(primary, float("nan")) for r in by_label[section["best"]]}
                    for lab in labels:
                        d = paired_difference({r.seed: r.metrics.get(primary, float("nan")) for r in by_label[lab]},
                                              top_scores, level, hib)
                        if lab == section["best"] or (d.n >= 2 and d.ci[0] <= 0 <= d.ci[1]):
                            ties.add(lab)
                section["recommendation"] = _recommendation(atoms, section, rows, mods, unit,
                                                            {r["label"]: r["family"] for r in rows}, ties)

    # per-sample views: accuracy by ground-truth group; diagnostics by group
    by_group: dict[str, dict[str, float]] = {}
    diag_views = []
    truth_name = None
    for lab, recs in by_label.items():
        out = next((o for o in (_per_sample(r, results.base) for r in recs) if o is not None), None)
        if out is None or not out["truth"]:
            continue
        truth_name = truth_name or grouping_column(out["truth"])
        if truth_name is None or truth_name not in out["truth"]:
            continue
        groups = group_labels(out["truth"][truth_name])
        if groups is None or len(np.unique(groups)) < 2:
            continue  # one group (e.g. every sample of a pure uniqueness task): nothing to compare
        ok = _correct(out)
        if ok is not None:
            by_group[lab] = {g: float(ok[groups == g].mean()) for g in np.unique(groups)}
        for dname, arr in sorted(out["diagnostics"].items()):
            a = np.asarray(arr, dtype=float)
            if a.ndim == 0 or a.shape[0] != len(groups):
                continue
            a = a.reshape(len(groups), -1)
            if a.shape[1] > 8:
                continue  # a latent, not a per-sample weight: not drawn
            series = {(f"{dname}[{j}]" if a.shape[1] > 1 else dname):
                      {g: float(np.nanmean(a[groups == g, j])) for g in np.unique(groups)} for j in range(a.shape[1])}
            key = f"{slug}_diag_{''.join(c if c.isalnum() else '_' for c in lab)}_{''.join(c if c.isalnum() else '_' for c in dname)}"
            figures[key] = cf.grouped_figure(series, "mean per sample", f"{lab}: {dname} by {truth_name}")
            diag_views.append({"label": lab, "name": dname, "figure": key})
    if by_group:
        key = f"{slug}_groups"
        figures[key] = cf.grouped_figure(by_group, "accuracy", f"{name}: test accuracy by {truth_name}")
        section["group_figure"] = key
        section["truth_name"] = truth_name
    section["diagnostics"] = diag_views
    section["planes"] = _plane_views(by_label, slug, name, figures)
    return section


#: ground truth with more distinct groups than this is not a grouping (an id, a latent code).
MAX_GROUPS = 12


def group_labels(values: Any) -> np.ndarray | None:
    """Per-sample group labels of a ground-truth column, or None when it is not a grouping: a
    1-D column as text; a 2-D boolean column of per-modality flags (``corrupted``: n x modalities)
    as ``clean`` or the flagged modalities (``m2 corrupted``, ``m1+m3 corrupted``, numbered from 1
    in the dataset's modality order); anything else (latent codes) or more than
    :data:`MAX_GROUPS` groups is None."""
    a = np.asarray(values)
    if a.ndim == 1:
        labels = a.astype(str)
    elif a.ndim == 2 and a.dtype == bool:
        labels = np.array(["clean" if not row.any() else
                           "+".join(f"m{j + 1}" for j in np.flatnonzero(row)) + " corrupted" for row in a])
    else:
        return None
    return labels if len(np.unique(labels)) <= MAX_GROUPS else None


def grouping_column(truth: dict[str, Any]) -> str | None:
    """The ground-truth column the per-sample views group by: per-modality flags first (what
    sample weighting reacts to), then a 1-D grouping (e.g. the interaction type); a column with a
    single group (a modality corrupted in every sample) is passed over; None if no column groups
    the samples."""
    def groups(k: str) -> int:
        labels = group_labels(truth[k])
        return 0 if labels is None else len(np.unique(labels))

    ranked = sorted(truth, key=lambda k: (np.asarray(truth[k]).ndim != 2, k))
    return next((k for k in ranked if groups(k) >= 2), None)


def _plane_views(by_label: dict[str, list[RunRecord]], slug: str, name: str,
                 figures: dict[str, Any]) -> list[dict[str, str]]:
    """Information planes of the methods that record them, drawn for the first seed of each:
    ``extra["bottleneck_plane"]`` (a bottleneck chain's compression against detector
    reconstruction per link, e.g. ITHP) and ``extra["info_plane"]`` (I(T;X) against I(T;Y) of
    chosen layers, the training option ``info_plane``)."""
    from infofusion.report.information_plane import bottleneck_plane_figure, layer_plane_figure

    views = []
    for lab, recs in by_label.items():
        rec = min(recs, key=lambda r: r.seed)
        tag = "".join(c if c.isalnum() else "_" for c in lab)
        chain = rec.extra.get("bottleneck_plane")
        layers = rec.extra.get("info_plane")
        candidates = (
            ("bottleneck", f"{slug}_plane_{tag}", chain if isinstance(chain, list) else None,
             bottleneck_plane_figure, "information plane"),
            ("layers", f"{slug}_layers_{tag}", layers.get("points") if isinstance(layers, dict) else None,
             layer_plane_figure, "I(T;X) vs I(T;Y)"),
        )
        for kind, key, points, draw, what in candidates:
            if not points:
                continue
            try:
                figures[key] = draw(points, f"{lab} on {name}, seed {rec.seed}: {what}")
            except (ValueError, KeyError, TypeError):
                continue  # points of another layout: nothing to draw
            views.append({"label": lab, "figure": key, "kind": kind, "seed": str(rec.seed)})
    return views


def _recommendation(atoms: dict[str, tuple[float, float, float]], section: dict[str, Any],
                    rows: list[dict[str, Any]], mods: Sequence[Any], unit: str,
                    tier_labels: dict[str, str], ties: set[str]) -> dict[str, Any]:
    """The rule's families for this profile and whether the family of the best method measured
    here is in the rule's first tier (the rule is fixed in advance, so every dataset is held out)."""
    from infofusion.evaluation.recommend import recommend_from_profile

    rec = recommend_from_profile(atoms, modalities=tuple(str(m) for m in mods), unit=unit)
    best = section.get("best")
    best_family = next((r["family"] for r in rows if r["label"] == best), None)
    top = rec.top()
    # tie-aware: a first-tier method whose paired interval against the best method includes 0
    tied = sorted(lab for lab, fam in tier_labels.items() if fam in top and lab in ties)
    return {"rule": rec.rule, "ranked": rec.ranked, "excluded": rec.excluded, "notes": rec.notes,
            "best_family": best_family, "top": top, "hit": bool(top and best_family in top),
            "tie_hit": bool(top and (best_family in top or tied)), "tied": tied}


def build_report(results: Results, baseline: str = "joint", robust_baseline: str = "late",
                 level: float = 0.95) -> tuple[dict[str, Any], dict[str, Any]]:
    """(template context, figures by name) of a report over every dataset in ``results``."""
    import datetime

    from infofusion import __version__

    figures: dict[str, Any] = {}
    by_data: dict[str, list[RunRecord]] = {}
    for r in results.runs:
        by_data.setdefault(record_key(r)[0], []).append(r)
    sections = [dataset_section(name, recs, results, baseline, robust_baseline, figures, level)
                for name, recs in by_data.items()]
    run = results.runs[0].run or {}
    seeds = sorted({r.seed for r in results.runs if r.seed is not None})
    labels = sorted({record_key(r)[1] for r in results.runs})
    families = {}
    for r in results.runs:
        info = method_info(str(r.config.get("method", "?")))
        families.setdefault(info["family"], {"synergy": info["synergy"], "labels": set()})["labels"].add(record_key(r)[1])
    fam_rows = [{"family": f, "synergy": {True: "yes", False: "no", None: "?"}[v["synergy"]],
                 "labels": ", ".join(sorted(v["labels"]))} for f, v in sorted(families.items())]
    judged = [s["recommendation"] for s in sections if "recommendation" in s]
    hit_rate = ({"hits": sum(j["hit"] for j in judged), "tie_hits": sum(j["tie_hit"] for j in judged),
                 "n": len(judged)} if judged else None)
    summary = [{"name": s["name"], "slug": s["slug"], "best": s.get("best") or "–",
                "recommended": ", ".join(s["recommendation"]["top"]) if s.get("recommendation", {}).get("top") else None,
                "hit": s["recommendation"]["hit"] if "recommendation" in s else None,
                "synergy_share": s.get("synergy_share"),
                "synergy": s.get("synergy", {}).get("percent")} for s in sections]
    ctx = {
        "title": "infofusion comparison report",
        "source": results.source,
        "run_id": run.get("id", "?"),
        "commit": run.get("commit"),
        "version": (results.runs[0].versions or {}).get("infofusion", __version__),
        "torch": (results.runs[0].versions or {}).get("torch", "?"),
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "seeds": ", ".join(map(str, seeds)) or "?",
        "n_records": len(results.runs),
        "methods": labels,
        "families": fam_rows,
        "datasets": sections,
        "summary": summary,
        "hit_rate": hit_rate,
        "baseline": baseline,
        "robust_baseline": robust_baseline,
        "level": int(round(level * 100)),
    }
    return ctx, figures


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(loader=PackageLoader("infofusion.report", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_report(ctx: dict[str, Any], figures: dict[str, Any], figure_dir: str | None = None) -> tuple[str, str]:
    """(HTML page, Markdown twin). HTML embeds every figure as base64 SVG; the Markdown twin
    links PNG files named ``<figure_dir>/<name>.png`` (written by :func:`write_report`)."""
    from infofusion.report.compare_figures import embed

    env = _environment()
    module = env.get_template("report.j2").module
    html_figs = {k: embed(f, "svg") for k, f in figures.items()}
    md_figs = {k: f"{figure_dir}/{k}.png" if figure_dir else "" for k in figures}
    return str(module.html_page(ctx, html_figs)), str(module.markdown_page(ctx, md_figs))


def write_report(results_path: str | Path, out: str | Path, baseline: str = "joint", robust_baseline: str = "late",
                 level: float = 0.95, markdown_only: bool = False) -> list[str]:
    """Write the report of ``results_path``: ``out`` (``.html``) and its Markdown twin
    ``<stem>.md`` -- or only the Markdown page when ``markdown_only`` -- plus the twin's PNG
    figures in ``<stem>_files/``; return the paths. Existing files are the caller's to check.
    """
    out = Path(out)
    results = load_results(results_path)
    ctx, figures = build_report(results, baseline, robust_baseline, level)
    fig_dir = out.with_name(out.stem + "_files")
    html, md = render_report(ctx, figures, fig_dir.name)
    out.parent.mkdir(parents=True, exist_ok=True)  # a missing folder is created, as --out promises
    written = []
    if not markdown_only:
        out.write_text(html, encoding="utf-8")
        written.append(str(out))
    md_path = out if markdown_only else out.with_suffix(".md")
    md_path.write_text(md, encoding="utf-8")
    written.append(str(md_path))
    if figures:
        fig_dir.mkdir(parents=True, exist_ok=True)
        for k, fig in figures.items():
            path = fig_dir / f"{k}.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            written.append(str(path))
    return written
