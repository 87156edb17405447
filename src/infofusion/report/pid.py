"""Tables and plots of a PID analysis: built from the results, never from console output.

The figures are ``matplotlib.figure.Figure`` objects built directly (no pyplot, no backend
switch), so drawing one never changes a notebook's matplotlib state.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def atoms_figure(est: Any, title: str = "") -> Any:
    """Bar plot of the corrected atoms with their intervals, the plug-in value and null level.

    Args:
        est: a :class:`~infofusion.measures.pid.estimate.PIDEstimate`.
    """
    from matplotlib.figure import Figure

    keys = list(est.atoms)
    vals = np.array([est.atoms[k].value for k in keys])
    lo = np.array([est.atoms[k].ci[0] for k in keys])
    hi = np.array([est.atoms[k].ci[1] for k in keys])
    null = np.array([est.atoms[k].null_mean for k in keys])
    plug = np.array([est.atoms[k].plugin for k in keys])
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    xs = np.arange(len(keys))
    err = None
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        err = [np.maximum(vals - lo, 0.0), np.maximum(hi - vals, 0.0)]
    ax.bar(xs - 0.2, vals, 0.4, yerr=err, capsize=3, label="corrected", color="#4878d0")
    ax.bar(xs + 0.2, plug, 0.4, label="plug-in", color="#bbbbbb")
    if np.isfinite(null).any():
        ax.scatter(xs + 0.2, null, marker="_", s=200, color="#d65f5f", label="null level", zorder=3)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(xs, keys)
    ax.set_ylabel(est.unit)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def composition_figure(pw: Any, title: str = "", max_samples: int = 400) -> Any:
    """Stacked per-sample atoms (samples sorted by dominant atom), positive parts only."""
    from matplotlib.figure import Figure

    atoms = pw.atoms()
    n = len(atoms)
    if n > max_samples:
        keep = np.random.default_rng(0).choice(n, max_samples, replace=False)
        atoms = atoms[keep]
    order = np.lexsort((-atoms.max(axis=1), np.argmax(atoms, axis=1)))
    atoms = np.clip(atoms[order], 0, None)
    fig = Figure(figsize=(7, 3.4))
    ax = fig.add_subplot()
    bottom = np.zeros(len(atoms))
    colors = ("#4878d0", "#ee854a", "#6acc64", "#d65f5f")
    for j, (name, c) in enumerate(zip(("R", "U1", "U2", "S"), colors, strict=True)):
        ax.bar(np.arange(len(atoms)), atoms[:, j], 1.0, bottom=bottom, color=c, label=name, linewidth=0)
        bottom += atoms[:, j]
    ax.set_xlabel("held-out samples (sorted by dominant atom)")
    ax.set_ylabel("bits (positive parts)")
    sub = f" -- agreement {pw.agreement:.2f}" if pw.agreement is not None else ""
    ax.set_title(title + sub, fontsize=9)
    ax.legend(fontsize=8, ncol=4, loc="upper right")
    fig.tight_layout()
    return fig


def _fmt_ci(a: Any) -> str:
    lo, hi = a.ci
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "--"
    return f"<= {hi:.4f}" if a.one_sided else f"[{lo:.4f}, {hi:.4f}]"


def atoms_table(est: Any, title: str = "") -> Any:
    """A ``rich`` table of the atoms: corrected value, interval (one-sided ``<= u`` at the
    boundary 0), plug-in value, null mean and 95th percentile."""
    from rich.table import Table

    level = int(round(100 * est.ci_level))
    table = Table(
        title=title,
        caption=f"correction: {est.correction}; {level}% interval from {est.n_boot or 'no'} "
        f"bootstrap resamples ('<= u': one-sided, the atom may be 0); null: {est.n_perm} label "
        "permutations",
    )
    for col in ("atom", "corrected", f"{level}% interval", "plug-in", "null mean", "null 95%"):
        table.add_column(col, justify="right")
    for k, a in est.atoms.items():
        table.add_row(
            k, f"{a.value:.4f}", _fmt_ci(a), f"{a.plugin:.4f}", f"{a.null_mean:.4f}", f"{a.null_q95:.4f}"
        )
    return table


def print_analysis(result: Any, console: Any = None) -> None:
    """Print an :class:`~infofusion.api.AnalysisResult` (table, totals, per-sample and multi
    summaries, written files)."""
    from rich.console import Console

    con = console or Console()
    est = result.estimate
    names = result.analysis.modalities
    con.print(atoms_table(
        est, title=f"PID of {result.spec} ({names[0]}, {names[1]}) -- {result.analysis.estimator}, "
        f"{est.measure}, N={est.n}, {est.unit}",
    ))
    unit = est.unit
    if est.plugin is not None:
        f = 1.0 if unit == "bits" else float(np.log(2.0))
        p = est.plugin
        con.print(
            f"plug-in I(X1;Y)={p.I1 * f:.4f}  I(X2;Y)={p.I2 * f:.4f}  I(X1,X2;Y)={p.I12 * f:.4f} {unit}  "
            f"solver: {p.status}, gap={p.gap:.1e} bits  dominant: {est.dominant()}"
        )
    pw = result.analysis.pointwise
    if pw is not None:
        m = pw.means()
        line = (
            f"per-sample means (held-out, {pw.extra.get('model')}, bits): R={m['R']:.3f} "
            f"U1={m['U1']:.3f} U2={m['U2']:.3f} S={m['S']:.3f}"
        )
        if pw.agreement is not None:
            line += f"  agreement with ground truth: {pw.agreement:.3f}"
        con.print(line)
    multi = result.analysis.multi
    if multi is not None:
        uniq = ", ".join(f"{k}={v:.3f}" for k, v in multi["unique"].items())
        con.print(
            f"M={len(multi['names'])} (bits): total={multi['total']:.3f}  unique (vs rest): {uniq}  "
            f"co-information={multi['co_information']:.3f}  O-information={multi['o_information']:.3f}"
        )
    for note in result.analysis.notes:
        con.print(f"note: {note}")
    for path in result.plots:
        con.print(f"wrote {path}")
    if result.records_path is not None:
        con.print(f"record appended to {result.records_path}")
