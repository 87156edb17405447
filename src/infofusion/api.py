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
    per_sample_dir: str | Path | None = None,
    probe: bool = False,
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
        plots_dir: folder for the plots a method draws of its own run (its ``save_plots``
            hook, e.g. ITHP's information plane); paths go to ``extra["plots"]``.
        per_sample_dir: folder for each seed's per-sample test outputs (prediction, branch
            outputs, the method's diagnostics such as gate weights, and the dataset's
            per-sample ground truth where it has one) as ``.npz``
            (:mod:`infofusion.report.per_sample`); the path goes to ``extra["per_sample"]``.
        probe: fit a linear probe on each modality's frozen encoder outputs after training
            (:mod:`infofusion.evaluation.probe`); adds ``<split>/probe/<modality>/accuracy``
            (``mae`` for regression) to the metrics and the seconds it took to
            ``timings["probe"]``. A method without per-modality encoders is a ``ConfigError``.

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
        result = fit(method, dataset, cfg, **options)
        extra: dict[str, Any] = {
            "best_epoch": result.best_epoch,
            "selection_metric": result.selection_metric,
            "epochs_run": len(result.history),
        }
        if len(result.stages) > 1:
            extra["stages"] = [dataclasses.asdict(st) for st in result.stages]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{data_name}_{label}")
        if plots_dir is not None:
            Path(plots_dir).mkdir(parents=True, exist_ok=True)
            extra["plots"] = result.method.save_plots(str(Path(plots_dir) / f"{safe}_seed{seed}"), result)
        if per_sample_dir is not None and result.test_outputs is not None:
            from infofusion.report.per_sample import save_per_sample

            extra["per_sample"] = save_per_sample(
                Path(per_sample_dir) / f"{safe}_seed{seed}", result.test_outputs, "test",
                truth=_per_sample_truth(result.data, result.test_outputs["index"]),
            )
        method_cfg = result.method.get_params()
        extra.update(result.method.run_info())
        metrics, timings = dict(result.metrics), dict(result.timings)
        if probe:
            from infofusion.evaluation.probe import linear_probe, probe_metrics

            tp = time.perf_counter()
            probes = linear_probe(result.method, result.data, batch_size=cfg.eval_batch_size)
            metrics.update(probe_metrics(probes))
            timings["probe"] = time.perf_counter() - tp
            extra["probe"] = {m: {"regularization": r.regularization, "selected_on": r.selected_on}
                              for m, r in probes.items()}
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
            metrics=metrics,
            timings={**timings, "wall": time.perf_counter() - t0},
            versions=vers,
            extra=extra,
        )
        records.append(rec)
        if out is not None:
            write_records(out, [rec])
        if on_result is not None:
            on_result(rec, result)
    return records


def _per_sample_truth(dataset: Any, index: Any) -> dict[str, Any]:
    """Per-sample side information of a dataset (``sample_meta``: e.g. the synthetic suite's
    true interaction type), cut to ``index``."""
    import numpy as np

    table = dataset.sample_meta if dataset is not None else {}
    return {name: np.asarray(values)[np.asarray(index)] for name, values in table.items()}


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
            options = dict(get("method", m).bench_options)
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
    probe: bool | None = None,
) -> tuple[list[RunRecord], str]:
    """Run every registered method on the built-in datasets; write records and a table.

    Args:
        quick: short budget (fewer epochs and seeds) suited to a laptop CPU.
        methods / datasets: restrict the grid (default: all methods, :data:`QUICK_DATASETS`).
        seeds: seeds per cell (default 3 when quick, 5 otherwise).
        out_dir: folder receiving ``results.jsonl`` and ``table.md`` (``table.html`` too).
        config: base :class:`TrainConfig` (default: :func:`bench_config`, quick or full budget).
        progress: a bar on a terminal; one line per finished run (:func:`run_line`) when the
            output is a file, pipe or CI log.
        probe: linear probes on each encoder (see :func:`train`) for every method that has
            per-modality encoders; ``None`` (default) probes only on datasets that name a
            ``weak_modality`` in their info (the synthetic imbalance tasks).

    Returns:
        (records, markdown table). Datasets whose optional dependency is missing are skipped
        with a note in the table. On classification data every multimodal record also gets
        ``test/synergy_separate`` (see :func:`add_separate_synergy`) and, for methods with
        branches, ``test/synergy_branches``.
    """
    from infofusion.errors import MissingDependencyError
    from infofusion.progress import Progress
    from infofusion.report import html_table, markdown_table, summarize

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "results.jsonl"
    if jsonl.exists():
        jsonl.unlink()
    if config is None:
        config = bench_config(quick)
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
    from itertools import groupby

    n_runs = len(plan) * len(_seed_list(seeds))
    with Progress(total=n_runs, description="bench", enabled=progress) as bar:
        for spec, runs in groupby(plan, key=lambda run: run[0]):
            ds = _as_dataset(spec)[0]
            spec_records: list[RunRecord] = []
            outputs: dict[tuple[str, int], Any] = {}  # (label, seed) -> test outputs

            def keep(rec: RunRecord, result: Any, outputs: dict = outputs, spec: str = spec) -> None:
                outputs[(rec.config["label"], rec.seed)] = result.test_outputs
                bar.advance(run_line(rec, data=spec))

            probe_ds = bool(ds.info.get("weak_modality")) if probe is None else probe
            for _, method, options, label in runs:
                bar.describe(f"{spec} · {label}")
                spec_records += train(method, ds, seeds=seeds, config=config, method_options=options,
                                      label=label, on_result=keep,
                                      probe=probe_ds and _exposes_features(method, options, ds))
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


def _exposes_features(method: str, options: dict[str, Any], dataset: Any) -> bool:
    """Whether ``method`` (built with ``options`` for ``dataset``) has per-modality encoder
    outputs for the linear probe."""
    import torch

    from infofusion.registry import create

    built = create("method", method, spec=dataset.spec, **options).eval()
    with torch.no_grad():
        return bool(built.modality_features(dataset.batch(dataset.indices("train")[:2])))


def bench_config(quick: bool = True) -> Any:
    """The :class:`~infofusion.training.TrainConfig` of ``bench``: the quick budget (40 epochs
    at most, patience 8, lr 2e-3) or the defaults; no per-epoch bar."""
    from infofusion.training.config import TrainConfig

    if quick:
        return TrainConfig(epochs=40, patience=8, batch_size=128, lr=2e-3, progress=False)
    return TrainConfig(progress=False)


def run_line(record: RunRecord, data: str | None = None) -> str:
    """One log line for a finished run: method, dataset, seed, headline test metric, seconds."""
    metric = record.extra.get("selection_metric")
    key = f"test/{metric}" if metric and f"test/{metric}" in record.metrics else next(
        (k for k in record.metrics if k.startswith("test/")), None
    )
    value = f"{key} {record.metrics[key]:.4f}" if key is not None else "no test split"
    label = record.config.get("label") or record.config.get("method")
    where = data if data is not None else record.config.get("data")
    wall = record.timings.get("wall", record.timings.get("fit", float("nan")))
    return f"{label} {where} seed {record.seed}: {value} ({wall:.1f} s)"


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
    probes = sorted(k for k in keys if k.startswith("test/probe/"))
    return headline_metrics(list(records), limit=4 - len(extra)) + extra + probes


def estimate_mi(x: Any, y: Any, z: Any = None, estimator: str = "auto", **params: Any) -> Any:
    """Estimate I(X; Y) (or I(X; Y | Z)) in nats; see :mod:`infofusion.measures.mi`."""
    from infofusion.measures.mi import estimate_mi as _estimate

    return _estimate(x, y, z=z, estimator=estimator, **params)


def analyze(data: Any, **kwargs: Any) -> Any:
    """Interaction analysis (PID atoms with uncertainty); see :mod:`infofusion.measures.pid`."""
    from infofusion.measures.pid.analyze import analyze as _analyze

    return _analyze(data, **kwargs)
