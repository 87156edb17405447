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


# The few metrics shown on screen (every metric is in the records); first match wins.
_HEADLINE = ["accuracy", "macro_f1", "mAP", "Has0_acc_2", "Non0_acc_2", "Non0_F1", "acc_2", "F1",
             "Mult_acc_7", "acc_7", "Mult_acc_3", "MAE", "Corr"]


def headline_metrics(records: list, split: str = "test", limit: int = 6) -> list[str]:
    """``split/<metric>`` keys to show, in a fixed order of importance."""
    have = {k for r in records for k in r.metrics}
    keys = [f"{split}/{m}" for m in _HEADLINE if f"{split}/{m}" in have]
    return keys[:limit] or sorted(k for k in have if k.startswith(f"{split}/"))[:limit]


def group_records(records: Iterable[RunRecord]) -> dict[tuple[str, str], list[RunRecord]]:
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in records:
        groups.setdefault(record_key(r), []).append(r)
    return groups


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return float("nan"), float("nan")
    mean = sum(vals) / len(vals)
    # population std (ddof=0), the convention of the MMSA protocol's reports
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    return mean, std


def summarize(records: Iterable[RunRecord], metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, method): ``{"data", "method", "seeds", metric: (mean, std)}``.

    Args:
        records: training records (several seeds per group).
        metrics: metric keys to include (default: every ``test/*`` metric of the records).
    """
    rows = []
    for (data, method), recs in group_records(records).items():
        keys = metrics or sorted({k for r in recs for k in r.metrics if k.startswith("test/")})
        row: dict[str, Any] = {"data": data, "method": method, "seeds": len(recs)}
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
    cols = ["data", "method", "seeds"]
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
