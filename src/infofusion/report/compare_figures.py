"""Figures of the comparison report, each a ``matplotlib.figure.Figure`` built directly (no
pyplot, no backend switch), and their embedding as base64 SVG/PNG."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_COLORS = ["#4878d0", "#ee854a", "#6acc64", "#d65f5f", "#956cb4", "#8c613c", "#dc7ec0", "#797979",
           "#d5bb67", "#82c6e2"]


def color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def embed(fig: Any, fmt: str = "svg", dpi: int = 150) -> str:
    """A ``data:`` URI of the figure (SVG for line and bar plots, PNG for dense ones)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def score_figure(labels: Sequence[str], means: Sequence[float], stds: Sequence[float], metric: str,
                 title: str = "") -> Any:
    """Horizontal bars of mean ± std of one metric per method."""
    from matplotlib.figure import Figure

    n = len(labels)
    fig = Figure(figsize=(6.0, 0.35 * n + 1.0))
    ax = fig.add_subplot()
    ys = np.arange(n)
    ax.barh(ys, means, xerr=stds, color=[color(i) for i in range(n)], capsize=3)
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    finite = [m for m in means if np.isfinite(m)]
    if finite:
        lo = min(finite)
        ax.set_xlim(max(0.0, lo - 0.1 * abs(lo) - 0.05), None)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def profile_figure(atoms: Mapping[str, tuple[float, float, float]], unit: str, title: str = "") -> Any:
    """Bars of the PID atoms with their intervals: ``atom -> (value, ci_low, ci_high)``."""
    from matplotlib.figure import Figure

    keys = list(atoms)
    vals = np.array([atoms[k][0] for k in keys], dtype=float)
    lo = np.array([atoms[k][1] for k in keys], dtype=float)
    hi = np.array([atoms[k][2] for k in keys], dtype=float)
    fig = Figure(figsize=(4.8, 3.0))
    ax = fig.add_subplot()
    xs = np.arange(len(keys))
    err = None
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        err = [np.maximum(vals - lo, 0.0), np.maximum(hi - vals, 0.0)]
    ax.bar(xs, vals, yerr=err, capsize=4, color=[color(i) for i in range(len(keys))])
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(xs, keys)
    ax.set_ylabel(unit)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def robustness_figure(curves: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]]],
                      metric: str, title: str = "") -> Any:
    """One panel per perturbed target (each modality, ``all``): score vs noise level per method,
    with a band of ± one std over seeds. ``curves[label][target] = (levels, mean, std)``."""
    from matplotlib.figure import Figure

    targets = sorted({t for c in curves.values() for t in c}, key=lambda t: (t == "all", t))
    fig = Figure(figsize=(3.2 * len(targets) + 0.6, 3.0))
    axes = fig.subplots(1, len(targets), sharey=True, squeeze=False)[0]
    for ax, target in zip(axes, targets, strict=True):
        for i, (label, by_target) in enumerate(curves.items()):
            if target not in by_target:
                continue
            lv, mean, std = (np.asarray(v, dtype=float) for v in by_target[target])
            ax.plot(lv, mean, color=color(i), label=label, lw=1.4)
            ax.fill_between(lv, mean - std, mean + std, color=color(i), alpha=0.15, lw=0)
        ax.set_title(f"noise on {target}", fontsize=9)
        ax.set_xlabel("noise std (feature-std units)")
    axes[0].set_ylabel(metric)
    axes[-1].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def grouped_figure(values: Mapping[str, Mapping[str, float]], ylabel: str, title: str = "") -> Any:
    """Grouped bars: ``values[series][group]`` (e.g. accuracy per method by interaction type, or
    a diagnostic's mean per ground-truth group)."""
    from matplotlib.figure import Figure

    series = list(values)
    groups = sorted({g for v in values.values() for g in v})
    fig = Figure(figsize=(max(4.5, 0.9 * len(groups) * max(1, len(series)) * 0.35 + 2.5), 3.1))
    ax = fig.add_subplot()
    width = 0.8 / max(len(series), 1)
    xs = np.arange(len(groups))
    for i, s in enumerate(series):
        ax.bar(xs + (i - (len(series) - 1) / 2) * width, [values[s].get(g, np.nan) for g in groups], width,
               label=s, color=color(i))
    ax.set_xticks(xs, groups, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if len(series) > 1:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
