"""The resumable benchmark runner.

A benchmark run lives in one folder, ``<out>/<run-id>/``:

* ``run.json`` -- the run's identity, the plan (one entry per (dataset, method, options,
  label)), the seeds, the training options and whether the robustness sweep runs;
* ``results.jsonl`` -- one record per finished (dataset, label, seed), appended *as each run
  finishes*, with its accuracy, its cost (``cost/*`` metrics, :mod:`infofusion.evaluation.complexity`)
  and, with robustness, its curves (``extra["robustness"]``);
* ``per_sample/`` -- each run's per-sample test outputs (:mod:`infofusion.report.per_sample`);
* ``table.md`` / ``table.html`` -- written when every planned run is finished.

Resuming (``resume=True``) reads ``run.json`` back and runs only the (dataset, label, seed)
triples missing from ``results.jsonl``; nothing finished is redone. A last line torn by a kill
mid-write is no result: it is dropped (the only change ever made to an existing line).
Separately trained unimodal models run first on each dataset, so every multimodal record can get
``test/synergy_separate`` when it is written (on resume, their outputs are read back from
``per_sample/``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infofusion.benchmarking.suite import DataEntry, Suite
from infofusion.errors import ConfigError, FormatError, OutputPathError
from infofusion.interfaces import RunRecord, write_records


def plan_of(suite: Suite, api: Any = None, notes: list[str] | None = None) -> list[dict[str, Any]]:
    """Plan entries of a suite: every method on every dataset with the options its class
    declares in ``bench_options`` (plus the suite's); a method that is not multimodal and takes
    a ``modality`` option (``unimodal``) runs once per modality. Per dataset, methods that are
    not multimodal come first (their outputs feed the synergy indicator of the others). A method
    whose ``tasks`` do not cover a dataset's task is left out there, with a line in ``notes``."""
    import inspect

    from infofusion.registry import get, list_components

    _as_dataset = _api(api)._as_dataset

    methods = list(suite.methods or list_components("method"))
    plan = []
    for entry in suite.datasets:
        ds = _as_dataset(entry.spec, entry.options)[0]
        names = ds.names
        ordered = sorted(methods, key=lambda m: bool(get("method", m).multimodal))
        for m in ordered:
            cls = get("method", m)
            if ds.task not in cls.tasks:
                if notes is not None:
                    notes.append(f"- `{m}` not run on `{entry.name}`: defined for {' and '.join(cls.tasks)} only")
                continue
            options = {**dict(cls.bench_options), **suite.method_options.get(m, {})}
            item: dict[str, Any] = {"data": entry.name}
            if entry.name != entry.spec or entry.options:
                item.update(spec=entry.spec, data_options=dict(entry.options))
            per_modality = not cls.multimodal and "modality" in inspect.signature(cls.__init__).parameters
            if per_modality and "modality" not in options:
                plan += [{**item, "method": m, "options": {**options, "modality": n}, "label": f"{m}:{n}"} for n in names]
            else:
                plan.append({**item, "method": m, "options": options, "label": m})
    return plan


def _read_done(jsonl: Path) -> list[RunRecord]:
    """Records already in a results file; a torn last line (a kill mid-write) is dropped."""
    if not jsonl.exists():
        return []
    lines = jsonl.read_text(encoding="utf-8").splitlines(keepends=True)
    records = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(RunRecord.from_json(line))
        except (json.JSONDecodeError, TypeError, KeyError):
            if i == len(lines) - 1 and not line.endswith("\n"):
                jsonl.write_text("".join(lines[:i]), encoding="utf-8")
                break
            raise FormatError(f"line {i + 1} is not a run record; cannot resume", path=jsonl) from None
    return records


def _api(api: Any) -> Any:
    """The Python API module (passed in by ``infofusion.api.bench``; this package never imports
    it, so no import cycle can form)."""
    if api is None:
        import importlib

        api = importlib.import_module("infofusion.api")
    return api


def _name(data: str, label: str, seed: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{data}_{label}")
    return f"{safe}_seed{seed}"


def run_suite(
    suite: Suite,
    folder: Path,
    config: Any,
    *,
    resume: bool = False,
    progress: bool = True,
    run_id: str,
    notes: Sequence[str] = (),
    api: Any = None,
    probe: bool | None = None,
) -> list[RunRecord]:
    """Run (or finish) the benchmark of ``suite`` in ``folder``; return every record.

    Args:
        suite: what to run (unused on resume: the plan, seeds and options come from the
            folder's ``run.json``).
        folder: the run's folder.
        config: the base :class:`~infofusion.training.TrainConfig`.
        resume: continue the run in ``folder`` (its ``run.json`` must exist).
        progress: bar on a terminal, one line per finished run otherwise.
        run_id: the run id.
        notes: lines for the table (skipped datasets); the plan adds the methods it leaves out.
        probe: linear probes on each encoder of methods that have per-modality encoders
            (``None``: only on datasets whose info names a ``weak_modality``).
        api: the :mod:`infofusion.api` module (``train``, the dataset loader, the synergy
            indicator), passed in by the caller.
    """
    import dataclasses

    api = _api(api)
    _as_dataset, add_separate_synergy, run_line, train = api._as_dataset, api.add_separate_synergy, api.run_line, api.train
    from infofusion.evaluation.complexity import complexity_record, start_memory_window
    from infofusion.interfaces import run_scope
    from infofusion.progress import Progress
    from infofusion.report.per_sample import load_per_sample, save_per_sample

    manifest_path = folder / "run.json"
    jsonl = folder / "results.jsonl"
    if resume:
        if not manifest_path.exists():
            raise OutputPathError(f"--resume: '{folder}' holds no run.json (nothing to resume)", path=folder, what="--resume")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        plan = manifest["plan"]
        seeds = list(manifest["seeds"])
        from infofusion.training.config import TrainConfig

        config = TrainConfig(**{k: v for k, v in manifest["train"].items() if k in TrainConfig.__dataclass_fields__})
        robustness = bool(manifest.get("robustness", False))
        notes = manifest.get("skipped", [])
        probe = manifest.get("probe")
    else:
        notes = notes if isinstance(notes, list) else list(notes)  # the caller's list gets the plan's notes
        plan = plan_of(suite, api, notes)
        seeds = list(suite.seeds)
        robustness = suite.robustness
    done = _read_done(jsonl)
    finished = {(r.config.get("data"), r.config.get("label"), r.seed) for r in done}
    todo = [(p, s) for p in plan for s in seeds if (p["data"], p["label"], s) not in finished]
    records = list(done)
    with run_scope(run_id) as run, Progress(total=len(todo), description="bench", enabled=progress) as bar:
        if not resume:
            folder.mkdir(parents=True, exist_ok=True)
            manifest = {"run": run, "quick": suite.profile == "quick", "profile": suite.profile, "seeds": seeds,
                        "train": config.to_dict(), "plan": plan, "skipped": list(notes), "robustness": robustness, "probe": probe}
            manifest_path.write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")
        datasets: dict[str, Any] = {}
        for item, seed in todo:
            data_name = item["data"]
            if data_name not in datasets:
                datasets.clear()  # one dataset in memory at a time
                datasets[data_name] = _as_dataset(item.get("spec", data_name), item.get("data_options") or None)[0]
            ds = datasets[data_name]
            bar.describe(f"{data_name} · {item['label']}")
            window = start_memory_window()  # the run's memory is measured from here
            cfg = dataclasses.replace(config, progress=False)

            def finish(rec: RunRecord, result: Any, item: dict = item, ds: Any = ds,
                       window: tuple[float, bool] = window) -> None:
                rec.kind = "bench"
                rec.config["data"] = item["data"]
                if "spec" in item:
                    rec.config["spec"] = item["spec"]
                for key, value in complexity_record(result, window).items():
                    rec.metrics[f"cost/{key}"] = value
                name = _name(item["data"], item["label"], rec.seed)
                if result.test_outputs is not None:
                    rec.extra["per_sample"] = str(Path(save_per_sample(
                        folder / "per_sample" / name, result.test_outputs, "test",
                        truth=api._per_sample_truth(result.data, result.test_outputs["index"]),
                    )).relative_to(folder))
                    if ds.task == "classification" and get_multimodal(item["method"]):
                        outputs = {(item["label"], rec.seed): result.test_outputs}
                        for uni in plan:
                            if uni["data"] == item["data"] and not get_multimodal(uni["method"]):
                                f = folder / "per_sample" / f"{_name(uni['data'], uni['label'], rec.seed)}.npz"
                                if f.exists():
                                    outputs[(uni["label"], rec.seed)] = load_per_sample(f)
                        add_separate_synergy([rec], _as_unimodal_labels(outputs))
                if robustness:
                    rec.extra["robustness"] = _robustness(result, rec.seed)
                write_records(jsonl, [rec])  # appended now: a kill loses only the run in progress
                records.append(rec)
                bar.advance(run_line(rec, data=item["data"]))

            probe_ds = bool(ds.info.get("weak_modality")) if probe is None else probe
            train(item["method"], ds, seeds=[seed], config=cfg, method_options=dict(item["options"]),
                  label=item["label"], on_result=finish,
                  probe=probe_ds and api._exposes_features(item["method"], dict(item["options"]), ds))
    return records


def get_multimodal(method: str) -> bool:
    """Whether a registered method's prediction uses several modalities."""
    from infofusion.registry import get

    return bool(get("method", method).multimodal)


def _as_unimodal_labels(outputs: dict[tuple[str, int], Any]) -> dict[tuple[str, int], Any]:
    """``add_separate_synergy`` reads unimodal runs by their ``unimodal:<modality>`` label."""
    out = {}
    for (label, seed), value in outputs.items():
        method, sep, modality = label.partition(":")
        if sep and not get_multimodal(method):
            label = f"unimodal:{modality}"
        out[(label, seed)] = value
    return out


def _robustness(result: Any, seed: int) -> dict[str, Any]:
    from infofusion.evaluation.metrics import compute_metrics, higher_is_better, primary_metric
    from infofusion.evaluation.robustness import robustness_curves

    data = result.data
    protocol = result.config.protocol or data.info.get("protocol")
    metric = primary_metric(data.task, protocol)

    def score(y: Any, pred: Any) -> float:
        return compute_metrics(y, pred, data.task, protocol, only=[metric])[metric]

    split = "test" if data.has_split("test") else ("valid" if data.has_split("valid") else "train")
    t0 = time.perf_counter()
    curves = robustness_curves(result.method, data, score, split=split, seed=seed)
    curves.update(metric=metric, higher_is_better=higher_is_better(metric, protocol),
                  seconds=time.perf_counter() - t0)
    return curves


def check_new_folder(folder: Path) -> None:
    """A new run never writes into a folder that holds an earlier run's results."""
    if (folder / "results.jsonl").exists() or (folder / "run.json").exists():
        raise OutputPathError(f"--out: benchmark run folder '{folder}' already holds results; a new run "
                              "never writes into an earlier one (choose another run id, or --resume it)",
                              path=folder, what="--out")


def usable_entries(entries: Sequence[DataEntry], api: Any = None) -> tuple[list[DataEntry], list[str]]:
    """The entries whose optional dependencies are installed, and notes for the others."""
    from infofusion.errors import MissingDependencyError

    _as_dataset = _api(api)._as_dataset

    usable, notes = [], []
    for e in entries:
        try:
            _as_dataset(e.spec, e.options or None)
            usable.append(e)
        except MissingDependencyError as exc:
            notes.append(f"- skipped `{e.name}`: {exc}")
    if not usable:
        raise ConfigError("no dataset of the benchmark can be loaded: " + "; ".join(notes))
    return usable, notes
