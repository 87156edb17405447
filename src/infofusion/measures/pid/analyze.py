"""``analyze``: the interaction profile of a dataset -- R, U1, U2, S with uncertainty and plots.

Steps: discretise each modality (k-means, fitted on the training split), estimate the
dataset-level atoms with the label-permutation null and bootstrap intervals, compute the
per-sample composition on held-out samples, print a table, write a bar plot and a per-sample
composition plot (PNG and SVG) and append a :class:`~infofusion.interfaces.RunRecord`
(``kind="pid"``) to a JSON-lines file. For M >= 3 modalities the each-vs-rest summary and
co-/O-information of :mod:`.multi` are added to the record.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infofusion.errors import ConfigError
from infofusion.report.figures import save_figure


@dataclass
class AnalysisResult:
    """What :func:`analyze` computed and wrote."""

    estimate: Any
    pointwise: Any | None
    multi: dict[str, Any] | None
    record: Any
    plots: list[str] = field(default_factory=list)
    discretization: dict[str, Any] = field(default_factory=dict)


def _versions() -> dict[str, str]:
    import sklearn

    import infofusion

    return {
        "infofusion": infofusion.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
    }


def analyze(
    dataset_or_spec: Any,
    *,
    modalities: tuple[str, str] | None = None,
    k: int = 10,
    representation: str = "features",
    measure: str = "broja",
    n_boot: int = 100,
    n_perm: int = 50,
    split: str | None = None,
    pointwise: bool = True,
    pointwise_model: str = "mlp",
    out_dir: str | Path | None = "runs/pid",
    records: str | Path | None = None,
    seed: int = 0,
    target_bins: int = 5,
    console: Any = None,
    **load_kwargs: Any,
) -> AnalysisResult:
    """Interaction profile of a dataset (bits).

    Args:
        dataset_or_spec: a :class:`~infofusion.data.MultimodalDataset` or a spec such as
            ``"synthetic:mixed"`` (``load_kwargs`` go to the loader).
        modalities: the two modalities to decompose (default: the first two).
        k: k-means clusters per modality.
        representation: cluster on ``"features"`` or on unimodal ``"model"`` probabilities.
        measure: PID measure (``broja``, ``imin``, ``mmi``).
        n_boot, n_perm: bootstrap resamples and label permutations.
        split: samples for the dataset-level estimate (default: all samples; clusters are
            always fitted on ``train``).
        pointwise: also compute the per-sample composition (held-out samples).
        pointwise_model: ``"mlp"`` or ``"logistic"``.
        out_dir: folder for the plots (None: no plots).
        records: JSON-lines file to append the record to (default ``out_dir/records.jsonl``).
        seed: seed of clustering, permutations, resamples and classifiers.
        target_bins: quantile bins for a regression target.
        console: a ``rich`` console to print to (default: a new one; ``False``: silent).

    Returns:
        :class:`AnalysisResult`.
    """
    from infofusion.interfaces import RunRecord, write_records
    from infofusion.measures.pid.discretize import discretize, discretize_target
    from infofusion.measures.pid.estimate import estimate_pid

    start = time.perf_counter()
    from infofusion.io_paths import check_writable

    if out_dir is not None:
        check_writable(out_dir, "out_dir", kind="dir")  # before any work
    if records is not None:
        check_writable(records, "records")
    if isinstance(dataset_or_spec, str):
        from infofusion.data import load_dataset

        ds = load_dataset(dataset_or_spec, **load_kwargs)
        spec = dataset_or_spec
    else:
        ds = dataset_or_spec
        spec = getattr(ds, "name", "dataset")
    names = tuple(modalities or ds.names[:2])
    if len(ds.names) < 2 or len(names) != 2:
        raise ConfigError(f"analyze needs two modalities, the dataset has {ds.names}")
    ds.require_modalities(names)  # an unknown name is named, with the available ones
    y_all, target_info = discretize_target(ds.target.numpy(), bins=target_bins)
    fit = ds.indices("train").numpy()
    disc = {}
    for m in ds.names:
        ln = ds.lengths(m)
        disc[m] = discretize(
            ds.modality(m).numpy(), k=k, lengths=None if ln is None else ln.numpy(),
            fit_index=fit, representation=representation, y=y_all, seed=seed,
        )
    rows = np.arange(ds.n) if split is None else ds.indices(split).numpy()
    t0 = time.perf_counter()
    est = estimate_pid(
        disc[names[0]].labels[rows], disc[names[1]].labels[rows], y_all[rows], measure=measure,
        n_boot=n_boot, n_perm=n_perm, seed=seed,
    )
    t_pid = time.perf_counter() - t0
    pw = None
    if pointwise:
        from infofusion.measures.pointwise import pointwise_composition

        pw = pointwise_composition(
            ds, names, model=pointwise_model, seed=seed, target_bins=target_bins
        )
    multi = None
    if len(ds.names) >= 3:
        from infofusion.measures.pid.multi import multi_pid

        multi = multi_pid({m: disc[m].labels[rows] for m in ds.names}, y_all[rows], measure=measure)

    plots: list[str] = []
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stem = _safe(str(spec))
        plots += plot_atoms(est, out / f"{stem}_pid", title=f"PID of {spec} ({', '.join(names)})")
        if pw is not None:
            plots += plot_composition(pw, out / f"{stem}_pointwise", title=f"Per-sample composition: {spec}")

    metrics: dict[str, float] = {}
    for a, e in est.atoms.items():
        metrics[f"pid/{a}"] = e.value
        metrics[f"pid/{a}_plugin"] = e.plugin
        metrics[f"pid/{a}_null"] = e.null_mean
        metrics[f"pid/{a}_ci_low"] = e.ci[0]
        metrics[f"pid/{a}_ci_high"] = e.ci[1]
    metrics.update({"pid/I1": est.plugin.I1, "pid/I2": est.plugin.I2, "pid/I12": est.plugin.I12})
    metrics["pid/gap"] = est.plugin.gap
    if pw is not None:
        for key, v in pw.means().items():
            metrics[f"pointwise/{key}"] = v
        if pw.agreement is not None:
            metrics["pointwise/agreement"] = pw.agreement
    record = RunRecord(
        kind="pid",
        config={
            "data": str(spec), "modalities": list(names), "k": k, "representation": representation,
            "measure": measure, "n_boot": n_boot, "n_perm": n_perm, "split": split,
            "pointwise_model": pointwise_model if pointwise else None, "target": target_info,
        },
        seed=seed,
        metrics=metrics,
        timings={"pid": t_pid, "total": time.perf_counter() - start},
        versions=_versions(),
        extra={
            "unit": "bits",
            "n": est.n,
            "shape": list(est.shape),
            "dominant": est.dominant(),
            "discretization": {m: d.record() for m, d in disc.items()},
            "solver": est.plugin.extra,
            "pointwise": None if pw is None else pw.summary(),
            "multi": multi,
            "plots": plots,
        },
    )
    rec_path = records if records is not None else (None if out_dir is None else Path(out_dir) / "records.jsonl")
    if rec_path is not None:
        write_records(rec_path, [record])
    if console is not False:
        _print(est, pw, multi, spec, names, plots, rec_path, console)
    return AnalysisResult(
        estimate=est, pointwise=pw, multi=multi, record=record, plots=plots,
        discretization={m: d.record() for m, d in disc.items()},
    )


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80]


def _print(est, pw, multi, spec, names, plots, rec_path, console) -> None:
    from rich.console import Console
    from rich.table import Table

    con = console or Console()
    level = int(round(100 * est.ci_level))
    table = Table(
        title=f"PID of {spec} ({names[0]}, {names[1]}) -- {est.measure}, N={est.n}, bits",
        caption=f"corrected = plug-in - null (mean of {est.n_perm} label permutations); "
        f"{level}% bootstrap interval from {est.n_boot} resamples",
    )
    for col in ("atom", "corrected", f"{level}% CI", "plug-in", "null mean", "null 95%"):
        table.add_column(col, justify="right")
    for a, e in est.atoms.items():
        table.add_row(
            a, f"{e.value:.4f}", f"[{e.ci[0]:.4f}, {e.ci[1]:.4f}]", f"{e.plugin:.4f}",
            f"{e.null_mean:.4f}", f"{e.null_q95:.4f}",
        )
    con.print(table)
    p = est.plugin
    con.print(
        f"I(X1;Y)={p.I1:.4f}  I(X2;Y)={p.I2:.4f}  I(X1,X2;Y)={p.I12:.4f}  "
        f"solver gap={p.gap:.1e} bits  dominant: {est.dominant()}"
    )
    if pw is not None:
        m = pw.means()
        line = (
            f"per-sample means (held-out, {pw.extra.get('model')}): R={m['R']:.3f} "
            f"U1={m['U1']:.3f} U2={m['U2']:.3f} S={m['S']:.3f}"
        )
        if pw.agreement is not None:
            line += f"  agreement with ground truth: {pw.agreement:.3f}"
        con.print(line)
    if multi is not None:
        uniq = ", ".join(f"{k}={v:.3f}" for k, v in multi["unique"].items())
        con.print(
            f"M={len(multi['names'])}: total={multi['total']:.3f}  unique (vs rest): {uniq}  "
            f"co-information={multi['co_information']:.3f}  O-information={multi['o_information']:.3f}"
        )
    for path in plots:
        con.print(f"wrote {path}")
    if rec_path is not None:
        con.print(f"record appended to {rec_path}")


def plot_atoms(est: Any, stem: Path, title: str = "") -> list[str]:
    """Bar plot of the corrected atoms with bootstrap intervals and the null level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(est.atoms)
    vals = np.array([est.atoms[k].value for k in keys])
    lo = np.array([est.atoms[k].ci[0] for k in keys])
    hi = np.array([est.atoms[k].ci[1] for k in keys])
    null = np.array([est.atoms[k].null_mean for k in keys])
    plug = np.array([est.atoms[k].plugin for k in keys])
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    xs = np.arange(len(keys))
    ax.bar(xs - 0.2, vals, 0.4, yerr=[vals - lo, hi - vals], capsize=3, label="corrected", color="#4878d0")
    ax.bar(xs + 0.2, plug, 0.4, label="plug-in", color="#bbbbbb")
    ax.scatter(xs + 0.2, null, marker="_", s=200, color="#d65f5f", label="null level", zorder=3)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(xs, keys)
    ax.set_ylabel("bits")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_composition(pw: Any, stem: Path, title: str = "", max_samples: int = 400) -> list[str]:
    """Stacked per-sample atoms (samples sorted by dominant atom), positive parts only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    atoms = pw.atoms()
    n = len(atoms)
    if n > max_samples:
        keep = np.random.default_rng(0).choice(n, max_samples, replace=False)
        atoms, dom = atoms[keep], pw.dominant[keep]
    else:
        dom = pw.dominant
    order = np.lexsort((-atoms.max(axis=1), np.argmax(atoms, axis=1)))
    atoms, dom = np.clip(atoms[order], 0, None), dom[order]
    fig, ax = plt.subplots(figsize=(7, 3.4))
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
    return save_figure(fig, stem)
