"""Summary tables (mean ± std over seeds) from :class:`RunRecord` lists, as Markdown or HTML."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from infofusion.interfaces import RunRecord


def record_key(r: RunRecord) -> tuple[str, str]:
    """(dataset, method label) of a training record."""
    return str(r.config.get("data", "?")), str(r.config.get("label") or r.config.get("method", "?"))


def run_id(r: RunRecord) -> str:
    """The id of the run that produced a record (``"?"`` for records written before runs had
    ids)."""
    return str((r.run or {}).get("id", "?"))


def shown_split(records: Sequence[RunRecord]) -> str | None:
    """The split a summary table of ``records`` reports: ``test`` when any record has test
    metrics, else ``valid``, else ``train`` (None: no split-qualified metric)."""
    have = {k.split("/", 1)[0] for r in records for k in r.metrics if "/" in k}
    return next((s for s in ("test", "valid", "train") if s in have), None)


def table_title(records: Sequence[RunRecord], split: str | None = None) -> str:
    """A title that says what the numbers are: the split shown and how the models were
    selected, from the records themselves (``extra["selected_on"]``), e.g. ``test split,
    mean ± std over seeds (models selected on validation)`` or ``train split, mean ± std over
    seeds (last epoch, no validation split; not a held-out estimate)``."""
    split = split or shown_split(records) or "test"
    chosen = {r.extra.get("selected_on", "?") if "selected_on" in r.extra else "?" for r in records}
    if chosen == {"valid"}:
        how = "models selected on validation"
    elif chosen == {None}:
        how = "last epoch, no validation split"
    elif "?" in chosen:
        how = "selection not recorded"
    else:
        how = "selection differs between runs: see extra.selected_on"
    if split == "train":
        how += "; not a held-out estimate"
    elif split == "valid" and "valid" in chosen:
        how += "; the selection split itself, optimistic"
    return f"{split} split, mean ± std over seeds ({how})"


# The few metrics shown on screen (every metric is in the records); first match wins.
_HEADLINE = ["accuracy", "macro_f1", "mAP", "Has0_acc_2", "Non0_acc_2", "Non0_F1", "acc_2", "F1",
             "Mult_acc_7", "acc_7", "Mult_acc_3", "MAE", "Corr"]


def headline_metrics(records: list, split: str | None = None, limit: int = 6) -> list[str]:
    """``split/<metric>`` keys to show, in a fixed order of importance (default split: the one
    :func:`shown_split` picks)."""
    split = split or shown_split(records) or "test"
    have = {k for r in records for k in r.metrics}
    keys = [f"{split}/{m}" for m in _HEADLINE if f"{split}/{m}" in have]
    return keys[:limit] or sorted(k for k in have if k.startswith(f"{split}/"))[:limit]


def group_records(records: Iterable[RunRecord], by_run: bool = False) -> dict[tuple[str, ...], list[RunRecord]]:
    """Records by (dataset, method label), plus the run id when ``by_run``."""
    groups: dict[tuple[str, ...], list[RunRecord]] = {}
    for r in records:
        key = (*record_key(r), run_id(r)) if by_run else record_key(r)
        groups.setdefault(key, []).append(r)
    return groups


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return float("nan"), float("nan")
    mean = sum(vals) / len(vals)
    # population std (ddof=0), the convention of the MMSA protocol's reports
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    return mean, std


def summarize(
    records: Iterable[RunRecord], metrics: Sequence[str] | None = None, by_run: bool = False
) -> list[dict[str, Any]]:
    """One row per (dataset, method): ``{"data", "method", "seeds", metric: (mean, std)}``.

    Args:
        records: training records (several seeds per group).
        metrics: metric keys to include (default: every metric of the split
            :func:`shown_split` picks, ``test/*`` when there are any).
        by_run: one row per run as well (a ``run`` column), so runs with other settings are
            never averaged together.
    """
    records = list(records)
    split = shown_split(records) or "test"
    rows = []
    for key, recs in group_records(records, by_run).items():
        data, method = key[0], key[1]
        keys = metrics or sorted({k for r in recs for k in r.metrics if k.startswith(f"{split}/")})
        row: dict[str, Any] = {"data": data, "method": method, "seeds": len(recs)}
        if by_run:
            row["run"] = key[2]
        for k in keys:
            row[k] = _mean_std([r.metrics.get(k, float("nan")) for r in recs])
        rows.append(row)
    return rows


def format_cell(value: Any, scale: float = 1.0, digits: int = 3) -> str:
    if isinstance(value, tuple):
        m, s = value
        if not math.isfinite(m):
            return "–"
        return f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}"
    return str(value)


def _columns(rows: Sequence[dict[str, Any]], metrics: Sequence[str] | None) -> list[str]:
    cols = ["data", "method", "seeds"] + (["run"] if any("run" in r for r in rows) else [])
    extra = list(metrics) if metrics else sorted({k for r in rows for k in r if k not in cols})
    return cols + extra


def markdown_table(rows: Sequence[dict[str, Any]], metrics: Sequence[str] | None = None, digits: int = 3) -> str:
    """Markdown table of :func:`summarize` rows (``–`` where a metric is missing)."""
    cols = _columns(rows, metrics)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(format_cell(r.get(c, (float("nan"), 0.0)), digits=digits) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def html_table(rows: Sequence[dict[str, Any]], metrics: Sequence[str] | None = None, digits: int = 3) -> str:
    """HTML table of :func:`summarize` rows."""
    cols = _columns(rows, metrics)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(r.get(c, (float('nan'), 0.0)), digits=digits))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"
