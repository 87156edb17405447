"""Python API mirroring the CLI: ``train``, ``bench``, ``report``, ``estimate_mi``, ``analyze``,
``recommend``.

Each CLI command is a thin wrapper over one of these functions; results are
:class:`RunRecord` objects (also appended as JSON lines when ``out`` is given).
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infofusion.benchmarking.suite import (
    QUICK_DATASETS,  # re-exported: the quick benchmark's datasets
)
from infofusion.interfaces import RunRecord, write_records


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
    from infofusion.errors import ConfigError

    if isinstance(seeds, bool):
        raise ConfigError(f"seeds must be a number of seeds >= 1 or a list of seeds, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"seeds must be >= 1 (--seeds), got {seeds}")
        return list(range(seeds))
    try:
        out = [int(s) for s in seeds]
    except (TypeError, ValueError):
        raise ConfigError(f"seeds must be a number of seeds >= 1 or a list of seeds, got {seeds!r}") from None
    if not out:
        raise ConfigError("seeds: the list of seeds is empty (at least one seed is needed)")
    if min(out) < 0:
        raise ConfigError(f"seeds must be >= 0, got {min(out)} (--seed-start)")
    return out


def _seed_dir(checkpoint_dir: str | None, seed: int) -> str | None:
    return str(Path(checkpoint_dir) / f"seed{seed}") if checkpoint_dir else None


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _warn_about_splits(dataset: Any) -> None:
    """Say what a table of this dataset can mean when it lacks a validation or test split."""
    import warnings

    from infofusion.errors import InfoFusionWarning

    have = ", ".join(f"{k}={v}" for k, v in dataset.split_sizes().items())
    if not dataset.has_split("valid"):
        warnings.warn(f"dataset '{dataset.name}' has no 'valid' split ({have}): no model selection, "
                      "the last epoch's weights are kept", InfoFusionWarning, stacklevel=3)
    if not dataset.has_split("test"):
        shown = "valid" if dataset.has_split("valid") else "train"
        warnings.warn(f"dataset '{dataset.name}' has no 'test' split: results are reported on the "
                      f"'{shown}' split, which is not a held-out estimate", InfoFusionWarning, stacklevel=3)


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
    model_dir: str | Path | None = None,
    run_id: str | None = None,
    probe: bool = False,
    info_plane: Any = None,
) -> list[RunRecord]:
    """Train ``method`` on ``data`` once per seed; one record per seed.

    Every output location (``out``, ``plots_dir``, ``per_sample_dir``, ``model_dir``, each
    seed's checkpoint folder) is checked before any work starts. Files of a run go to a
    subfolder named by the run id (``<dir>/<run-id>/<data>_<label>_seed<N>...``), so a later
    run never overwrites them; records are appended.

    Args:
        method: registry name (``infofusion.list_components("method")``).
        data: a :class:`MultimodalDataset` or a spec such as ``"synthetic:synergy"``; it needs
            a ``train`` split. Without ``valid`` the last epoch is kept (no selection); without
            ``test`` the metrics of the other splits are all there is. Both are said by an
            :class:`~infofusion.errors.InfoFusionWarning` and recorded
            (``extra["selected_on"]``, ``extra["splits"]``).
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
        model_dir: folder for each seed's trained model (:func:`infofusion.trained.save_model`,
            read back by :func:`infofusion.load`); the path goes to ``extra["model"]``.
        run_id: the run's id (default: a new one, or the enclosing
            :func:`~infofusion.interfaces.run_scope`'s).
        info_plane: switch on the information-plane analysis of chosen layers
            (:class:`infofusion.training.info_plane.InfoPlane`): layer names (``"a,b"`` or a list,
            ``"default"`` for the method's own), a dict of
            :class:`~infofusion.training.info_plane.InfoPlaneConfig` fields or the config. The
            points go to ``extra["info_plane"]``; with ``plots_dir`` also
            ``<stem>_info_plane.jsonl`` and the plot ``<stem>_info_plane_layers.png/.svg``.
        probe: fit a linear probe on each modality's frozen encoder outputs after training
            (:mod:`infofusion.evaluation.probe`); adds ``<split>/probe/<modality>/accuracy``
            (``mae`` for regression) to the metrics and the seconds it took to
            ``timings["probe"]``. A method without per-modality encoders is a ``ConfigError``.

    Returns:
        One :class:`RunRecord` per seed (kind ``"train"``), each carrying the run identity.
    """
    import dataclasses

    from infofusion.errors import ConfigError
    from infofusion.interfaces import run_scope
    from infofusion.io_paths import check_writable
    from infofusion.training import TrainConfig, fit
    from infofusion.training.checkpoint import check_checkpoint_dir

    base = TrainConfig() if config is None else config
    if not isinstance(base, TrainConfig):
        raise ConfigError(f"config must be a TrainConfig, got {type(base).__name__}")
    seed_list = _seed_list(seeds)
    # every output location before any work (loading the data included)
    if out is not None:
        check_writable(out, "--out")
    for folder, what in ((plots_dir, "--plots"), (per_sample_dir, "--per-sample"), (model_dir, "--model-dir")):
        if folder is not None:
            check_writable(folder, what, kind="dir")
    for seed in seed_list:
        check_checkpoint_dir(_seed_dir(base.checkpoint_dir, seed), base.resume)

    dataset, data_name = _as_dataset(data, data_options)
    dataset.require_split("train", "to train on")
    _warn_about_splits(dataset)
    options = dict(method_options or {})
    if label is None:
        label = method + (f":{options['modality']}" if "modality" in options else "")
    records = []
    vers = versions()
    with run_scope(run_id) as run:
        for seed in seed_list:
            cfg = dataclasses.replace(base, seed=seed, checkpoint_dir=_seed_dir(base.checkpoint_dir, seed))
            t0 = time.perf_counter()
            callbacks = []
            if info_plane is not None:
                from infofusion.training.info_plane import InfoPlane

                callbacks.append(InfoPlane(info_plane))
            result = fit(method, dataset, cfg, callbacks, **options)
            extra: dict[str, Any] = {
                "best_epoch": result.best_epoch,
                "selection_metric": result.selection_metric,
                "selected_on": result.selected_on,
                "splits": dataset.split_sizes(),
                "epochs_run": len(result.history),
                "threads": result.threads,
            }
            if len(result.stages) > 1:
                extra["stages"] = [dataclasses.asdict(st) for st in result.stages]
            name = f"{_safe_name(f'{data_name}_{label}')}_seed{seed}"
            if plots_dir is not None:
                folder = Path(plots_dir) / run["id"]
                folder.mkdir(parents=True, exist_ok=True)
                extra["plots"] = result.method.save_plots(str(folder / name), result)
            if callbacks:
                _record_info_plane(extra, callbacks[0], result,
                                   None if plots_dir is None else Path(plots_dir) / run["id"], name)
            if per_sample_dir is not None and result.test_outputs is not None:
                from infofusion.report.per_sample import save_per_sample

                extra["per_sample"] = save_per_sample(
                    Path(per_sample_dir) / run["id"] / name, result.test_outputs, "test",
                    truth=_per_sample_truth(result.data, result.test_outputs["index"]),
                )
            if model_dir is not None:
                from infofusion.trained import save_model

                extra["model"] = str(save_model(Path(model_dir) / run["id"] / f"{name}.pt", result,
                                                method=method, data=data_name, data_options=data_options))
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


def _record_info_plane(extra: dict[str, Any], cb: Any, result: Any, folder: Path | None, name: str) -> None:
    """Put the information-plane points in ``extra``; with a plots ``folder`` write them (JSON
    lines) and draw them."""
    import json

    from infofusion.interfaces import _jsonable
    from infofusion.training.info_plane import points_from_history

    points = points_from_history(result.history)
    extra["info_plane"] = {**cb.summary(), "points": points}
    if folder is None or not points:
        return
    from infofusion.report.information_plane import save_layer_plane

    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{name}_info_plane"
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

    Every registered method runs on every dataset whose task its definition covers (the class's
    ``tasks``), with the options its class declares in ``bench_options``; ``unimodal`` runs once
    per modality.
    """
    from infofusion.registry import get, list_components

    methods = list(methods or list_components("method"))
    plan = []
    for spec in datasets or QUICK_DATASETS:
        ds = _as_dataset(spec)[0]
        names = ds.names
        for m in methods:
            if ds.task not in get("method", m).tasks:
                continue  # e.g. a classification-only method on a regression dataset
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
    run_id: str | None = None,
    *,
    profile: str | None = None,
    suite: Any = None,
    resume: bool = False,
    robustness: bool = False,
    probe: bool | None = None,
) -> tuple[list[RunRecord], str]:
    """Run registered methods on datasets over seeds; write records and a table.

    Each benchmark run gets its own folder, ``<out_dir>/<run-id>/``, holding ``run.json`` (the
    run's identity, plan, seeds and training options), ``results.jsonl`` (one record per
    finished (dataset, method, seed), appended as each run finishes, with its cost figures
    ``cost/*`` and, with ``robustness``, its robustness curves), ``per_sample/`` and
    ``table.md`` / ``table.html`` (see :mod:`infofusion.benchmarking.runner`). Nothing of an earlier
    run is touched: a ``run_id`` whose folder already holds results is refused unless
    ``resume`` continues it.

    Args:
        quick: the quick profile (its 3 datasets, 3 seeds) when ``profile`` is not given.
        methods / datasets: restrict the grid (default: all methods, the profile's datasets).
        seeds: seeds per cell (default 3 when quick, 5 otherwise).
        out_dir: folder receiving one subfolder per benchmark run.
        config: base :class:`TrainConfig` (default: :func:`bench_config`, the bench budget).
        progress: a bar on a terminal; one line per finished run (:func:`run_line`) when the
            output is a file, pipe or CI log.
        run_id: the run's id and folder name (default: a new id, :func:`~infofusion.interfaces.new_run_id`).
        probe: linear probes on each encoder (see :func:`train`) for every method that has
            per-modality encoders; ``None`` (default) probes only on datasets that name a
            ``weak_modality`` in their info (the synthetic imbalance tasks).
        profile: ``"quick"`` or ``"full"`` (every registered method x every built-in dataset x 5
            seeds); default from ``quick``.
        suite: an :class:`infofusion.benchmarking.Suite` (e.g. :func:`infofusion.benchmarking.load_suite` of a
            TOML file); replaces profile, methods, datasets, seeds and robustness.
        resume: continue the run ``run_id`` in ``out_dir``: only the runs missing from its
            results file are run, with the plan and options its ``run.json`` recorded.
        robustness: measure every trained model under test-time noise and missing modalities
            (:mod:`infofusion.evaluation.robustness`), no retraining.

    Returns:
        (records, markdown table). Datasets whose optional dependency is missing are skipped
        with a note in the table. On classification data every multimodal record also gets
        ``test/synergy_separate`` (see :func:`add_separate_synergy`) and, for methods with
        branches, ``test/synergy_branches``.
    """
    import dataclasses

    from infofusion.benchmarking.runner import check_new_folder, run_suite, usable_entries
    from infofusion.benchmarking.suite import make_suite
    from infofusion.errors import ConfigError
    from infofusion.interfaces import new_run_id
    from infofusion.io_paths import check_writable
    from infofusion.report import html_table, markdown_table, summarize

    if resume and not run_id:
        raise ConfigError("resume needs the run id of the benchmark to continue (--run-id)")
    run_id = run_id or new_run_id()
    out = bench_run_dir(out_dir, run_id)
    check_writable(out, "--out", kind="dir")  # before any work
    notes: list[str] = []
    if not resume:
        check_new_folder(out)
        if suite is None:
            suite = make_suite(profile or ("quick" if quick else "full"), methods, datasets,
                               None if seeds is None else _seed_list(seeds), robustness)
        elif seeds is not None:
            suite = dataclasses.replace(suite, seeds=_seed_list(seeds))
        if config is None:  # the profile's budget with the suite's training options
            config = dataclasses.replace(bench_config(), **suite.train)
        usable, notes = usable_entries(suite.datasets, _this_module())
        suite = dataclasses.replace(suite, datasets=usable)
    records = run_suite(suite, out, config, resume=resume, progress=progress, run_id=run_id, notes=notes,
                        api=_this_module(), probe=probe)
    rows = summarize(records)
    metric_cols = _bench_columns(records)
    table = "# Benchmark\n\n" + markdown_table(rows, metric_cols)
    if notes:
        table += "\n" + "\n".join(notes) + "\n"
    for name, text in (("table.md", table), ("table.html", html_table(rows, metric_cols))):
        if not (out / name).exists():
            (out / name).write_text(text, encoding="utf-8")
    return records, table


def _this_module() -> Any:
    import sys

    return sys.modules[__name__]


def bench_run_dir(out_dir: str | Path, run_id: str) -> Path:
    """The folder of benchmark run ``run_id`` under ``out_dir``."""
    from infofusion.errors import ConfigError

    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", ".."):
        raise ConfigError(f"run id {run_id!r} must be a plain folder name")
    return Path(out_dir) / run_id


def _exposes_features(method: str, options: dict[str, Any], dataset: Any) -> bool:
    """Whether ``method`` (built with ``options`` for ``dataset``) has per-modality encoder
    outputs for the linear probe."""
    import torch

    from infofusion.registry import create

    built = create("method", method, spec=dataset.spec, **options).eval()
    with torch.no_grad():
        return bool(built.modality_features(dataset.batch(dataset.indices("train")[:2])))


def bench_config() -> Any:
    """The :class:`~infofusion.training.TrainConfig` of ``bench`` (both profiles): 40 epochs at
    most (per stage), early stopping after 8 epochs without validation improvement, batch 128,
    lr 2e-3; no per-epoch bar. The profiles differ in coverage (datasets, seeds), not in training
    (``docs/compare.md`` says how many runs of the full profile reached the cap); ``--epochs`` and
    ``--patience`` raise it."""
    from infofusion.training.config import TrainConfig

    return TrainConfig(epochs=40, patience=8, batch_size=128, lr=2e-3, progress=False)


def run_line(record: RunRecord, data: str | None = None) -> str:
    """One log line for a finished run: method, dataset, seed, headline test metric, seconds."""
    metric = record.extra.get("selection_metric")
    key = None
    for split in ("test", "valid", "train"):  # the held-out split when there is one
        key = f"{split}/{metric}" if metric and f"{split}/{metric}" in record.metrics else next(
            (k for k in record.metrics if k.startswith(f"{split}/")), None
        )
        if key is not None:
            break
    value = f"{key} {record.metrics[key]:.4f}" if key is not None else "no metrics"
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
    """Estimate I(X; Y) (or I(X; Y | Z)) in nats (``unit="bits"`` for bits); see :mod:`infofusion.measures.mi`."""
    from infofusion.measures.mi import estimate_mi as _estimate

    return _estimate(x, y, z=z, estimator=estimator, **params)


@dataclass
class AnalysisResult:
    """What :func:`analyze` computed and wrote.

    Attributes:
        analysis: the :class:`~infofusion.measures.pid.analyze.Analysis` (bits).
        estimate: its :class:`~infofusion.measures.pid.estimate.PIDEstimate` in ``unit``.
        record: the :class:`RunRecord` (``kind="pid"``).
        spec: the dataset spec or name.
        plots: files written; records_path: the JSON-lines file appended to (or None).
    """

    analysis: Any
    estimate: Any
    record: RunRecord
    spec: str
    plots: list[str] = field(default_factory=list)
    records_path: str | None = None

    @property
    def pointwise(self) -> Any:
        return self.analysis.pointwise

    @property
    def multi(self) -> Any:
        return self.analysis.multi


def _writable_dir(path: str | Path, what: str) -> Path:
    from infofusion.errors import ConfigError

    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{what}: cannot create folder '{out}' ({exc.strerror})") from None
    if not os.access(out, os.W_OK):
        raise ConfigError(f"{what}: folder '{out}' is not writable")
    return out


def analyze(
    data: Any,
    *,
    modalities: Sequence[str] | None = None,
    estimator: str = "auto",
    measure: str | None = None,
    k: int | None = None,
    representation: str | None = None,
    n_boot: int | None = None,
    n_perm: int | None = None,
    correction: str | None = None,
    estimator_options: dict[str, Any] | None = None,
    unit: str = "bits",
    pointwise: bool = True,
    pointwise_model: str = "mlp",
    out_dir: str | Path | None = "runs/pid",
    records: str | Path | None = None,
    seed: int = 0,
    target_bins: int = 5,
    console: Any = None,
    **load_kwargs: Any,
) -> AnalysisResult:
    """Interaction profile of a dataset: R, U1, U2, S with uncertainty, plots and a record.

    Args:
        data: a :class:`~infofusion.data.MultimodalDataset` or a spec such as
            ``"synthetic:mixed"`` (``load_kwargs`` go to the loader).
        modalities: the two modalities to decompose (default: the first two).
        estimator: dataset-level estimator (``infofusion.list_components("pid_estimator")``;
            ``"auto"``: the most accurate on the synthetic suite, see docs/measures/pid.md).
        measure, k, representation, n_boot, n_perm, correction: options of the ``plugin``
            estimator (discrete measure, clusters per modality >= 2, ``features``/``model``,
            bootstrap resamples, label permutations, bias correction); None: its defaults.
        estimator_options: any other options of the estimator.
        unit: ``"bits"`` (default) or ``"nats"`` for the table, the record and the plots.
        pointwise: also compute the per-sample composition (held-out samples).
        pointwise_model: ``"mlp"`` or ``"logistic"``.
        out_dir: folder for the plots (None: no plots); checked before any work starts.
        records: JSON-lines file to append the record to (default ``out_dir/records.jsonl``).
        seed: seed of every random choice.
        target_bins: quantile bins for a regression target.
        console: a ``rich`` console to print to (default: a new one; ``False``: silent).

    Returns:
        :class:`AnalysisResult`.

    Raises:
        ConfigError: an invalid option (named), an unwritable output location.
        EstimationError: data the estimator cannot use.
    """
    from infofusion.errors import ConfigError
    from infofusion.measures.pid.analyze import analyze_dataset
    from infofusion.measures.pid.estimate import check_unit
    from infofusion.report.figures import save_figure
    from infofusion.report.pid import atoms_figure, composition_figure, print_analysis

    start = time.perf_counter()
    check_unit(unit)
    options = dict(estimator_options or {})
    plugin_kw = {"measure": measure, "k": k, "representation": representation, "n_boot": n_boot,
                 "n_perm": n_perm, "correction": correction}
    given = {key: v for key, v in plugin_kw.items() if v is not None}
    name = estimator
    if given and name == "auto":
        name = "plugin"  # options of the plug-in path choose it
    if given and name != "plugin":
        raise ConfigError(
            f"{', '.join(given)}: option(s) of the 'plugin' estimator, not of {name!r} "
            "(pass that estimator's options in estimator_options)"
        )
    options.update(given)
    out = _writable_dir(out_dir, "out_dir") if out_dir is not None else None
    rec_path = Path(records) if records is not None else (None if out is None else out / "records.jsonl")
    if rec_path is not None:
        _writable_dir(rec_path.parent if str(rec_path.parent) else ".", "records")
    dataset, spec = _as_dataset(data, load_kwargs)
    res = analyze_dataset(
        dataset, modalities=tuple(modalities) if modalities is not None else None, estimator=name,
        options=options, pointwise=pointwise, pointwise_model=pointwise_model, seed=seed,
        target_bins=target_bins,
    )
    est = res.estimate.in_unit(unit)
    names = res.modalities
    plots: list[str] = []
    if out is not None:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(spec))[:80]
        plots += save_figure(atoms_figure(est, title=f"PID of {spec} ({', '.join(names)})"), out / f"{stem}_pid")
        if res.pointwise is not None:
            plots += save_figure(
                composition_figure(res.pointwise, title=f"Per-sample composition: {spec}"),
                out / f"{stem}_pointwise",
            )
    metrics: dict[str, float] = {}
    for a, e in est.atoms.items():
        metrics[f"pid/{a}"] = e.value
        metrics[f"pid/{a}_plugin"] = e.plugin
        metrics[f"pid/{a}_null"] = e.null_mean
        metrics[f"pid/{a}_ci_low"] = e.ci[0]
        metrics[f"pid/{a}_ci_high"] = e.ci[1]
    factor = 1.0 if unit == "bits" else math.log(2.0)
    if est.plugin is not None:
        metrics.update({"pid/I1": est.plugin.I1 * factor, "pid/I2": est.plugin.I2 * factor,
                        "pid/I12": est.plugin.I12 * factor, "pid/gap": est.plugin.gap * factor})
    elif all(k in est.extra for k in ("I1", "I2", "I12")):  # estimators without a plug-in solution (batch)
        metrics.update({f"pid/{k}": float(est.extra[k]) * factor for k in ("I1", "I2", "I12")})
    if res.pointwise is not None:
        for key, v in res.pointwise.means().items():
            metrics[f"pointwise/{key}"] = v * factor
        if res.pointwise.agreement is not None:
            metrics["pointwise/agreement"] = res.pointwise.agreement
    record = RunRecord(
        kind="pid",
        config={
            "data": str(spec), "modalities": list(names), "estimator": res.estimator,
            "options": res.options, "pointwise_model": pointwise_model if pointwise else None,
            "unit": unit, "target_bins": target_bins,
        },
        seed=seed,
        metrics=metrics,
        timings={**res.timings, "total": time.perf_counter() - start},
        versions=versions(),
        extra={
            "unit": unit, "n": est.n, "shape": list(est.shape), "dominant": est.dominant(),
            "correction": est.correction,
            "one_sided": {a: e.one_sided for a, e in est.atoms.items()},
            "estimate": {key: v for key, v in est.extra.items() if key != "params"},
            "solver": None if est.plugin is None else est.plugin.extra,
            "pointwise": None if res.pointwise is None else res.pointwise.summary(),
            "multi": res.multi, "plots": plots, "notes": res.notes,
        },
    )
    if rec_path is not None:
        write_records(rec_path, [record])
    result = AnalysisResult(
        analysis=res, estimate=est, record=record, spec=str(spec), plots=plots,
        records_path=None if rec_path is None else str(rec_path),
    )
    if console is not False:
        print_analysis(result, console)
    return result


def report(results: str | Path, out: str | Path, baseline: str = "joint", robustness_baseline: str = "late",
           overwrite: bool = False, level: float = 0.95) -> list[str]:
    """Write the comparison report of a bench run folder or results file (``infofusion report``).

    Args:
        results: a bench run folder (``results.jsonl``, ``run.json``, ``per_sample/``, any
            ``pid`` record below it) or a JSON-lines results file.
        out: ``.html`` (self-contained page plus its Markdown twin ``<stem>.md``) or ``.md``.
        baseline: label every method is compared with (paired over seeds).
        robustness_baseline: label effective robustness is measured against.
        overwrite: replace existing output files.
        level: confidence level of the paired intervals.

    Returns:
        The files written (page, twin, the twin's PNG figures).
    """
    from infofusion.errors import ConfigError, OutputPathError
    from infofusion.io_paths import check_writable
    from infofusion.report.compare import write_report

    out = Path(out)
    if out.suffix not in (".html", ".md", ".markdown"):
        raise ConfigError(f"out '{out}': the report is written as .md or .html (an .html page gets a .md twin), got '{out.suffix or 'no suffix'}'")
    check_writable(out, "out")
    for t in [out] + ([out.with_suffix(".md")] if out.suffix == ".html" else []):
        if t.exists() and not overwrite:
            raise OutputPathError(f"out: '{t}' exists; pass overwrite=True to replace it", path=t, what="out")
    return write_report(results, out, baseline, robustness_baseline, level, markdown_only=out.suffix != ".html")


def recommend(
    data: Any,
    *,
    modalities: Sequence[str] | None = None,
    estimator: str = "auto",
    n_boot: int | None = None,
    seed: int = 0,
    unit: str = "bits",
    **load_kwargs: Any,
) -> Any:
    """Ranked fusion-method families for a dataset, with the reason for each.

    Computes the dataset's interaction profile (:func:`analyze`: PID atoms with intervals and
    the per-modality MI, no plots, no per-sample step) and applies the fixed rule of
    :mod:`infofusion.evaluation.recommend` to the families the registered methods declare.

    Args:
        data: a dataset or spec (``load_kwargs`` go to the loader).
        modalities: the two modalities to decompose (default: the first two).
        estimator: the PID estimator (see :func:`analyze`).
        n_boot: bootstrap resamples of the ``plugin`` estimator (None: its default).
        seed: seed of every random choice.
        unit: ``bits`` or ``nats``.

    Returns:
        :class:`~infofusion.evaluation.recommend.Recommendation`.
    """
    from infofusion.evaluation.recommend import recommend_from_profile

    res = analyze(data, modalities=modalities, estimator=estimator, n_boot=n_boot, seed=seed, unit=unit,
                  pointwise=False, out_dir=None, records=None, console=False, **load_kwargs)
    m = res.record.metrics
    atoms = {a: (m[f"pid/{a}"], m.get(f"pid/{a}_ci_low", float("nan")), m.get(f"pid/{a}_ci_high", float("nan")))
             for a in ("R", "U1", "U2", "S")}
    mi = {k: m[f"pid/{k}"] for k in ("I1", "I2", "I12") if f"pid/{k}" in m}
    rec = recommend_from_profile(atoms, mi, modalities=tuple(res.record.config.get("modalities", ())) or ("m1", "m2"),
                                 unit=unit)
    rec.notes.extend(res.analysis.notes)
    return rec
