"""Python API mirroring the CLI: ``train``, ``bench``, ``estimate_mi``, ``analyze``.

Each CLI command is a thin wrapper over one of these functions; results are
:class:`RunRecord` objects (also appended as JSON lines when ``out`` is given).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from infofusion.interfaces import RunRecord, write_records

# Built-in datasets of the quick benchmark: (spec, short description).
QUICK_DATASETS: tuple[str, ...] = (
    "synthetic:redundancy",
    "synthetic:uniqueness1",
    "synthetic:synergy",
    "synthetic:mixed",
    "synthetic:synergy3",
    "digits",
    "uci_mfeat",
)


def versions() -> dict[str, str]:
    """Versions recorded with every result."""
    import numpy
    import torch

    from infofusion import __version__

    return {
        "infofusion": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def _as_dataset(data: Any, options: dict[str, Any] | None = None) -> tuple[Any, str]:
    from infofusion.data import load_dataset
    from infofusion.data.dataset import MultimodalDataset

    if isinstance(data, MultimodalDataset):
        return data, data.name
    return load_dataset(str(data), **(options or {})), str(data)


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int):
        if seeds < 1:
            from infofusion.errors import ConfigError

            raise ConfigError(f"seeds must be >= 1, got {seeds}")
        return list(range(seeds))
    return [int(s) for s in seeds]


def train(
    method: str,
    data: Any,
    seeds: int | Sequence[int] = 1,
    config: Any = None,
    method_options: dict[str, Any] | None = None,
    out: str | Path | None = None,
    label: str | None = None,
    on_result: Callable[[RunRecord, Any], None] | None = None,
    data_options: dict[str, Any] | None = None,
    plots_dir: str | Path | None = None,
    info_plane: Any = None,
) -> list[RunRecord]:
    """Train ``method`` on ``data`` once per seed; one record per seed.

    Args:
        method: registry name (``infofusion.list_components("method")``).
        data: a :class:`MultimodalDataset` or a spec such as ``"synthetic:synergy"``.
        seeds: number of seeds (``0..n-1``) or an explicit list.
        config: :class:`infofusion.training.TrainConfig` (its ``seed`` is replaced per run;
            a ``checkpoint_dir`` gets one ``seed<N>`` subfolder per seed).
        method_options: constructor options of the method.
        out: JSON-lines file the records are appended to.
        label: name of the method in tables (default: method name, plus the modality for
            ``unimodal``).
        on_result: called with ``(record, fit_result)`` after each seed.
        data_options: loader options when ``data`` is a spec (e.g. ``{"fold": 2}``).
        plots_dir: folder for the plots a method draws of its own run (methods defining
            ``save_plots(stem)``, e.g. ITHP's information plane); paths go to ``extra["plots"]``.
        info_plane: switch on the information-plane analysis of chosen layers
            (:class:`infofusion.training.info_plane.InfoPlane`): layer names (``"a,b"`` or a list,
            ``"default"`` for the method's own), a dict of
            :class:`~infofusion.training.info_plane.InfoPlaneConfig` fields or the config. The
            points go to ``extra["info_plane"]``; with ``plots_dir`` also
            ``<stem>_info_plane.jsonl`` and the plot ``<stem>_info_plane_layers.png/.svg``.

    Returns:
        One :class:`RunRecord` per seed (kind ``"train"``).
    """
    import dataclasses

    from infofusion.training import TrainConfig, fit

    dataset, data_name = _as_dataset(data, data_options)
    base = config or TrainConfig()
    options = dict(method_options or {})
    if label is None:
        label = method + (f":{options['modality']}" if "modality" in options else "")
    records = []
    vers = versions()
    for seed in _seed_list(seeds):
        ckpt = str(Path(base.checkpoint_dir) / f"seed{seed}") if base.checkpoint_dir else None
        cfg = dataclasses.replace(base, seed=seed, checkpoint_dir=ckpt)
        t0 = time.perf_counter()
        callbacks = []
        if info_plane is not None:
            from infofusion.training.info_plane import InfoPlane

            callbacks.append(InfoPlane(info_plane))
        result = fit(method, dataset, cfg, callbacks, **options)
        extra: dict[str, Any] = {
            "best_epoch": result.best_epoch,
            "selection_metric": result.selection_metric,
            "epochs_run": len(result.history),
        }
        if plots_dir is not None and hasattr(result.method, "save_plots"):
            Path(plots_dir).mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{data_name}_{label}")
            extra["plots"] = result.method.save_plots(str(Path(plots_dir) / f"{safe}_seed{seed}"))
        if callbacks:
            _record_info_plane(extra, callbacks[0], result, plots_dir, f"{data_name}_{label}_seed{seed}")
        method_cfg = getattr(result.method, "config", {})
        for key in ("order", "modality_order"):
            if hasattr(result.method, key):
                extra[key] = getattr(result.method, key)
        rec = RunRecord(
            kind="train",
            config={
                "method": method,
                "label": label,
                "data": data_name,
                "data_options": dict(data_options or {}),
                "options": options,
                "method_config": method_cfg,
                "train": cfg.to_dict(),
            },
            seed=seed,
            metrics=result.metrics,
            timings={**result.timings, "wall": time.perf_counter() - t0},
            versions=vers,
            extra=extra,
        )
        records.append(rec)
        if out is not None:
            write_records(out, [rec])
        if on_result is not None:
            on_result(rec, result)
    return records


def _record_info_plane(extra: dict[str, Any], cb: Any, result: Any, plots_dir: Any, name: str) -> None:
    """Put the information-plane points in ``extra``; with ``plots_dir`` write them (JSON lines)
    and draw them."""
    import json

    from infofusion.interfaces import _jsonable
    from infofusion.training.info_plane import points_from_history

    points = points_from_history(result.history)
    extra["info_plane"] = {**cb.summary(), "points": points}
    if plots_dir is None or not points:
        return
    from infofusion.report.information_plane import save_layer_plane

    folder = Path(plots_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / ("".join(c if c.isalnum() or c in "-_." else "_" for c in name) + "_info_plane")
    jsonl = stem.with_name(stem.name + ".jsonl")
    with open(jsonl, "w", encoding="utf-8") as fh:
        for p in points:
            fh.write(json.dumps(_jsonable(p)) + "\n")
    paths = save_layer_plane(points, stem.with_name(stem.name + "_layers"), title=f"information plane: {name}")
    extra["plots"] = [*extra.get("plots", []), str(jsonl), *paths]


def bench_plan(
    methods: Sequence[str] | None = None, datasets: Sequence[str] | None = None
) -> list[tuple[str, str, dict[str, Any], str]]:
    """(data spec, method, options, label) for every run of a benchmark.

    Every registered method runs on every dataset, with the options its class declares in
    ``bench_options``; ``unimodal`` runs once per modality.
    """
    from infofusion.registry import get, list_components

    methods = list(methods or list_components("method"))
    plan = []
    for spec in datasets or QUICK_DATASETS:
        names = _as_dataset(spec)[0].names
        for m in methods:
            # a method may declare the settings it should be benchmarked with (e.g. ITHP's
            # automatic modality order instead of the dataset's order)
            options = dict(getattr(get("method", m), "bench_options", {}))
            if m == "unimodal":
                plan += [(spec, m, {**options, "modality": n}, f"unimodal:{n}") for n in names]
            else:
                plan.append((spec, m, options, m))
    return plan


def bench(
    quick: bool = True,
    methods: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None,
    seeds: int | Sequence[int] | None = None,
    out_dir: str | Path = "results/bench",
    config: Any = None,
    progress: bool = True,
) -> tuple[list[RunRecord], str]:
    """Run every registered method on the built-in datasets; write records and a table.

    Args:
        quick: short budget (fewer epochs and seeds) suited to a laptop CPU.
        methods / datasets: restrict the grid (default: all methods, :data:`QUICK_DATASETS`).
        seeds: seeds per cell (default 3 when quick, 5 otherwise).
        out_dir: folder receiving ``results.jsonl`` and ``table.md`` (``table.html`` too).
        config: base :class:`TrainConfig` (default: quick or full budget).

    Returns:
        (records, markdown table). Datasets whose optional dependency is missing are skipped
        with a note in the table. On classification data every multimodal record also gets
        ``test/synergy_separate`` (see :func:`add_separate_synergy`) and, for methods with
        branches, ``test/synergy_branches``.
    """
    from infofusion.errors import MissingDependencyError
    from infofusion.report import html_table, markdown_table, summarize
    from infofusion.training import TrainConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "results.jsonl"
    if jsonl.exists():
        jsonl.unlink()
    if config is None:
        config = TrainConfig(epochs=40, patience=8, batch_size=128, lr=2e-3, progress=False) if quick else TrainConfig(progress=False)
    seeds = (3 if quick else 5) if seeds is None else seeds
    notes: list[str] = []
    usable = []
    for spec in datasets or QUICK_DATASETS:
        try:
            _as_dataset(spec)
            usable.append(spec)
        except MissingDependencyError as exc:
            notes.append(f"- skipped `{spec}`: {exc}")
    plan = bench_plan(methods, usable)
    records: list[RunRecord] = []
    from contextlib import nullcontext
    from itertools import groupby

    from rich.progress import Progress

    with (Progress(transient=True) if progress else nullcontext()) as bar:
        task = bar.add_task("bench", total=len(plan)) if bar else None
        for spec, runs in groupby(plan, key=lambda run: run[0]):
            ds = _as_dataset(spec)[0]
            spec_records: list[RunRecord] = []
            outputs: dict[tuple[str, int], Any] = {}  # (label, seed) -> test outputs

            def keep(rec: RunRecord, result: Any, outputs: dict = outputs) -> None:
                outputs[(rec.config["label"], rec.seed)] = result.test_outputs

            for _, method, options, label in runs:
                if bar:
                    bar.update(task, description=f"{spec} · {label}")
                spec_records += train(method, ds, seeds=seeds, config=config, method_options=options,
                                      label=label, on_result=keep)
                if bar:
                    bar.advance(task)
            if ds.task == "classification":
                add_separate_synergy(spec_records, outputs)
            for r in spec_records:
                r.kind = "bench"
                r.config["data"] = spec
            write_records(jsonl, spec_records)
            records += spec_records
    rows = summarize(records)
    metric_cols = _bench_columns(records)
    table = "# Benchmark\n\n" + markdown_table(rows, metric_cols)
    if notes:
        table += "\n" + "\n".join(notes) + "\n"
    (out / "table.md").write_text(table, encoding="utf-8")
    (out / "table.html").write_text(html_table(rows, metric_cols), encoding="utf-8")
    return records, table


def add_separate_synergy(records: Sequence[RunRecord], outputs: dict[tuple[str, int], Any]) -> None:
    """Add ``test/synergy_separate`` to every multimodal record: the share of test samples the
    method gets right while every *separately trained* unimodal model (``unimodal:<m>`` runs of
    the same seed) gets wrong."""
    from infofusion.evaluation.synergy import synergy_indicator

    for rec in records:
        label, seed = rec.config["label"], rec.seed
        if label.startswith("unimodal:") or outputs.get((label, seed)) is None:
            continue
        uni = {
            lab.split(":", 1)[1]: out["prediction"]
            for (lab, s), out in outputs.items()
            if s == seed and lab.startswith("unimodal:") and out is not None
        }
        if uni:
            fused = outputs[(label, seed)]
            res = synergy_indicator(fused["y"], fused["prediction"], uni, "separate")
            rec.metrics["test/synergy_separate"] = res["synergy"]


def _bench_columns(records: Sequence[RunRecord]) -> list[str]:
    from infofusion.report.tables import headline_metrics

    keys = {k for r in records for k in r.metrics}
    extra = [k for k in ("test/synergy_separate", "test/synergy_branches") if k in keys]
    return headline_metrics(list(records), limit=4 - len(extra)) + extra


def estimate_mi(x: Any, y: Any, z: Any = None, estimator: str = "auto", **params: Any) -> Any:
    """Estimate I(X; Y) (or I(X; Y | Z)) in nats (``unit="bits"`` for bits); see :mod:`infofusion.measures.mi`."""
    from infofusion.measures.mi import estimate_mi as _estimate

    return _estimate(x, y, z=z, estimator=estimator, **params)


def analyze(data: Any, **kwargs: Any) -> Any:
    """Interaction analysis (PID atoms with uncertainty); see :mod:`infofusion.measures.pid`."""
    from infofusion.measures.pid.analyze import analyze as _analyze

    return _analyze(data, **kwargs)
