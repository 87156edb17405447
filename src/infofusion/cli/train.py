"""``infofusion train``, ``infofusion bench`` and ``infofusion methods``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from infofusion.cli.options import dataclass_options, dataclass_values, parse_options
from infofusion.training.config import TrainConfig


def print_table(rows: list[dict], metrics: list[str], title: str, console: Any = None) -> None:
    """Print a title line, then summary rows as rich tables that never squeeze a cell: metric
    columns keep their full width, and when they do not fit the console they are spread over
    several tables (each repeating data, method and seeds), so ``0.973 ± 0.012`` is never cut
    to ``0.9…``.

    Args:
        rows: :func:`infofusion.report.summarize` rows.
        metrics: the metric keys to show (``test/accuracy``).
        title: the table title (say which split and how models were selected).
        console: a rich ``Console`` (default: a new one on stdout).
    """
    from rich.console import Console
    from rich.table import Table

    from infofusion.report.tables import format_cell

    console = console or Console()
    keys = ["data", "method", "seeds"] + (["run"] if any("run" in r for r in rows) else [])
    cells = [[format_cell(r.get(c, (float("nan"), 0.0))) for c in keys + metrics] for r in rows]

    def width(i: int, header: str) -> int:
        return max([len(header)] + [len(row[i]) for row in cells])

    widths = [width(i, (keys + metrics)[i].split("/", 1)[-1]) for i in range(len(keys) + len(metrics))]
    fixed = sum(min(w, 24) + 3 for w in widths[: len(keys)]) + 1  # 24: data/method fold beyond
    chunks: list[list[int]] = [[]]
    used = fixed
    for j in range(len(metrics)):
        w = widths[len(keys) + j] + 3
        if chunks[-1] and used + w > console.width:
            chunks.append([])
            used = fixed
        chunks[-1].append(j)
        used += w
    console.print(title, highlight=False, soft_wrap=True)
    for n, chunk in enumerate(chunks, start=1):
        table = Table(title=f"({n}/{len(chunks)})" if len(chunks) > 1 else None)
        for i, col in enumerate(keys):
            table.add_column(col, overflow="fold", min_width=min(widths[i], 8))
        for j in chunk:
            table.add_column(metrics[j].split("/", 1)[-1], no_wrap=True, min_width=widths[len(keys) + j])
        for row in cells:
            table.add_row(*row[: len(keys)], *[row[len(keys) + j] for j in chunk])
        console.print(table)


def _list_layers(method: str, data: str, options: dict, data_options: dict) -> None:
    from infofusion.api import _as_dataset
    from infofusion.training import build_method
    from infofusion.training.info_plane import layer_names

    dataset = _as_dataset(data, data_options)[0]
    module = build_method(method, dataset, **options)
    declared = module.info_plane_layers()
    for name in layer_names(module):
        typer.echo(name + ("  (default)" if name in declared else ""))


def _print_info_plane(seed: int, plane: dict) -> None:
    typer.echo(f"information plane, seed {seed} ({plane['split']} subsample of {plane['n']}, "
               f"compression {plane['compress']}, estimator {plane['estimator']}, bits, 95% interval):")
    for p in plane["points"]:
        def fmt(key: str, p: dict = p) -> str:
            if f"error_{key}" in p:
                return f"refused ({p[f'error_{key}']})"
            return f"{float(p[f'I_{key}']):.3f} [{float(p[f'I_{key}_low']):.3f}, {float(p[f'I_{key}_high']):.3f}]"

        stage = "" if p.get("stage") in (None, "main") else f"{p['stage']} "
        typer.echo(f"  {p['layer']:<16} {stage}epoch {p['epoch']:>3}  I(T;X) {fmt('TX')}  I(T;Y) {fmt('TY')}")


def register(app: typer.Typer) -> None:
    @app.command()
    @dataclass_options(TrainConfig, exclude=("seed",))
    def train(
        method: str = typer.Option(..., "--method", "-m", help="Method name (see `infofusion methods`)."),
        data: str = typer.Option(..., "--data", "-d", help="Dataset spec, e.g. synthetic:synergy, uci_mfeat, mmsa:PATH (see `infofusion datasets list`)."),
        seeds: int = typer.Option(1, "--seeds", help="Number of seeds (seed-start .. seed-start+n-1), >= 1."),
        seed_start: int = typer.Option(0, "--seed-start", help="First seed (>= 0)."),
        options: list[str] | None = typer.Option(None, "--set", help="Method option KEY=VALUE (repeatable), e.g. --set hidden=64."),
        data_options: list[str] | None = typer.Option(None, "--data-set", help="Dataset loader option KEY=VALUE (repeatable), e.g. fold=2."),
        out: Path = typer.Option(Path("results/train.jsonl"), "--out", help="JSON-lines file the records are appended to (one per seed, each with the run id, time, command line, git commit and version)."),
        model_dir: Path = typer.Option(Path("results/models"), "--model-dir", help="Each seed's trained model goes to <model-dir>/<run-id>/ (read by `infofusion predict --model`)."),
        save_model: bool = typer.Option(True, "--save-model/--no-save-model", help="Save each seed's trained model under --model-dir."),
        plots: Path | None = typer.Option(None, "--plots", help="Folder for the method's own plots (e.g. ITHP's information plane), in a subfolder per run."),
        per_sample: Path | None = typer.Option(None, "--per-sample", help="Folder for each seed's per-sample test outputs (.npz: predictions, branch outputs, diagnostics such as gate weights), in a subfolder per run."),
        probe: bool = typer.Option(False, "--probe/--no-probe", help="Linear probe on each modality's frozen encoder outputs (test/probe/<modality>/accuracy)."),
        info_plane: str | None = typer.Option(None, "--info-plane", help="Information plane of these layers (LAYER[,LAYER]; 'default': the method's own; 'list': print the layer names and stop)."),
        info_plane_every: int = typer.Option(1, "--info-plane-every", help="Measure every K epochs (and at the last)."),
        info_plane_compress: str = typer.Option("pca:8", "--info-plane-compress", help="Compression before estimation: pca:K, ae:K or none."),
        info_plane_samples: int = typer.Option(1000, "--info-plane-samples", help="Validation samples measured (fixed subsample)."),
        **train_options: Any,
    ) -> None:
        """Train a method on a dataset over seeds and print mean ± std of its metrics.

        The training options (--epochs ... --threads) are the fields of TrainConfig. Every
        output location is checked before any work. The table's title says which split it
        shows and whether models were selected on validation. When the output is not a
        terminal, one line is printed per finished seed.
        """
        from infofusion.api import run_line
        from infofusion.api import train as api_train
        from infofusion.errors import ConfigError
        from infofusion.interfaces import new_run_id
        from infofusion.progress import Progress
        from infofusion.report import summarize
        from infofusion.report.tables import headline_metrics, table_title
        from infofusion.training.distributed import init_if_launched, is_main_process

        if seeds < 1:
            raise ConfigError(f"--seeds must be >= 1, got {seeds}")
        if seed_start < 0:
            raise ConfigError(f"--seed-start must be >= 0, got {seed_start}")
        opts = parse_options(options)
        if info_plane is not None and info_plane.strip() == "list":
            _list_layers(method, data, opts, parse_options(data_options))
            return
        if info_plane is None and (info_plane_every, info_plane_compress, info_plane_samples) != (1, "pca:8", 1000):
            raise ConfigError("--info-plane-every/--info-plane-compress/--info-plane-samples need --info-plane LAYER")
        plane = None
        if info_plane is not None:
            from infofusion.training.info_plane import InfoPlaneConfig

            plane = InfoPlaneConfig.of(info_plane, every=info_plane_every, compress=info_plane_compress,
                                       samples=info_plane_samples)
        cfg = TrainConfig(**dataclass_values(TrainConfig, train_options))
        init_if_launched()
        main = is_main_process()
        run_id = new_run_id()
        # on a terminal the trainer draws a bar per run; a log gets one line per seed
        with Progress(total=seeds, enabled=cfg.progress and main, bar=False) as progress:
            records = api_train(method, data, seeds=list(range(seed_start, seed_start + seeds)), config=cfg,
                                method_options=opts, out=out if main else None,
                                data_options=parse_options(data_options),
                                plots_dir=plots if main else None, per_sample_dir=per_sample if main else None,
                                model_dir=model_dir if main and save_model else None, run_id=run_id,
                                probe=probe, info_plane=plane,
                                on_result=lambda rec, _: progress.advance(run_line(rec)))
        if not main:
            return
        keys = headline_metrics(records)
        keys += sorted({k for r in records for k in r.metrics if k.startswith("test/probe/")})
        print_table(summarize(records, keys), keys, table_title(records))
        extra = records[-1].extra
        if "modality_order" in extra:
            typer.echo(f"modality order: {extra['modality_order']}")
        for r in records:
            if "info_plane" in r.extra:
                _print_info_plane(r.seed, r.extra["info_plane"])
        for r in records:
            for path in r.extra.get("plots", []):
                typer.echo(f"wrote {path}")
        if save_model:
            typer.echo(f"models saved in {model_dir / run_id}")
        typer.echo(f"records appended to {out} (run {run_id})")

    @app.command()
    @dataclass_options(TrainConfig, exclude=("seed", "checkpoint_dir", "resume", "progress"),
                       unset="(default: the bench budget: 40 epochs max, patience 8, batch 128, lr 2e-3)")
    def bench(
        quick: bool = typer.Option(False, "--quick", help="The quick profile: 3 datasets (synergy, mixed interactions, digits) x 3 seeds: what the README runs."),
        profile: str | None = typer.Option(None, "--profile", help="quick (= --quick) or full: every registered method x every built-in dataset x 5 seeds (default). Both train on the bench budget."),
        config_file: Path | None = typer.Option(None, "--config", help="TOML suite file: datasets (any loadable spec, with loader options), methods, seeds, training options, robustness (see docs/compare.md)."),
        methods: list[str] | None = typer.Option(None, "--methods", "--method", "-m", help="Restrict to these methods (repeatable or comma separated)."),
        datasets: list[str] | None = typer.Option(None, "--data", "-d", help="Restrict to these dataset specs (repeatable or comma separated)."),
        seeds: int | None = typer.Option(None, "--seeds", help="Seeds per cell (>= 1; default 3 with --quick, else 5)."),
        robustness: bool = typer.Option(False, "--robustness", help="Also measure every trained model under test-time Gaussian noise per modality and all, and with a modality missing (no retraining)."),
        out_dir: Path = typer.Option(Path("results/bench"), "--out", help="Folder receiving one subfolder per run: <out>/<run-id>/ with run.json, results.jsonl, per_sample/, table.md, table.html."),
        run_id: str | None = typer.Option(None, "--run-id", help="Name of this run's subfolder (default: start time + random suffix); a folder holding results is refused unless --resume."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run --run-id in --out: only the runs missing from its results.jsonl are run, with the plan and options of its run.json."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Bar on a terminal, one line per run otherwise."),
        probe: bool | None = typer.Option(None, "--probe/--no-probe", help="Linear probe on each encoder (default: only on datasets with a weak modality, the synthetic imbalance tasks)."),
        **train_options: Any,
    ) -> None:
        """Run registered methods on datasets over seeds; write records, cost and a table.

        Training options given here (--epochs, --lr, ...) replace the bench budget's. Each run
        writes into its own folder; earlier runs are never touched. `infofusion report
        <out>/<run-id> --out report.html` turns the folder into a report.
        """
        import dataclasses

        from infofusion.api import bench as api_bench
        from infofusion.api import bench_config
        from infofusion.benchmarking.suite import PROFILES, load_suite, split_list
        from infofusion.errors import ConfigError
        from infofusion.interfaces import new_run_id

        if profile is not None and profile not in PROFILES:
            raise ConfigError(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        if quick and profile == "full":
            raise ConfigError("--quick and --profile full contradict each other; give one")
        if resume and (config_file or methods or datasets or seeds or profile or robustness):
            raise ConfigError("--resume continues a run with the plan its run.json recorded; "
                              "--config/--methods/--data/--seeds/--profile/--robustness cannot change it")
        if config_file is not None and (methods or datasets or profile or quick):
            raise ConfigError("--config defines the suite (profile, methods, data); --quick/--profile/"
                              "--methods/--data cannot be combined with it (--seeds, --robustness and "
                              "training options can)")
        profile = profile or ("quick" if quick else "full")
        suite = load_suite(config_file) if config_file is not None else None
        if suite is not None and robustness:
            suite.robustness = True
        given = dataclass_values(TrainConfig, train_options, drop_none=True)
        config = dataclasses.replace(bench_config(), **(suite.train if suite else {}), **given) if given else None
        run_id = run_id or new_run_id()
        _, table = api_bench(quick=profile == "quick", methods=split_list(methods), datasets=split_list(datasets),
                             seeds=seeds, out_dir=out_dir, progress=progress, config=config, run_id=run_id,
                             profile=profile, suite=suite, resume=resume, robustness=robustness, probe=probe)
        typer.echo(table)
        folder = out_dir / run_id
        typer.echo(f"written: {folder / 'results.jsonl'}, {folder / 'table.md'}, {folder / 'table.html'}")
        typer.echo(f"report: infofusion report {folder} --out {folder / 'report.html'}")

    @app.command()
    def methods() -> None:
        """List the registered fusion methods."""
        from infofusion.registry import describe

        for name, doc in describe("method").items():
            typer.echo(f"{name:12s} {doc}")

    @app.command()
    def report(
        records: Path = typer.Argument(..., help="A bench run folder (results.jsonl, run.json, per_sample/, any PID record below it) or a JSON-lines results file."),
        out: Path | None = typer.Option(None, "--out", help="report.html: one self-contained page plus its Markdown twin report.md (figures in report_files/); a .md path writes the Markdown page only."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing --out files."),
        run: list[str] | None = typer.Option(None, "--run", help="Only the records of this run id in the printed table (repeatable)."),
        baseline: str = typer.Option("joint", "--baseline", help="Method label every other method is compared with (paired over seeds)."),
        robust_baseline: str = typer.Option("late", "--robustness-baseline", help="Method label effective robustness is measured against (MultiBench: late fusion)."),
    ) -> None:
        """Build the comparison report of a results folder or file.

        Prints the mean ± std table; with --out writes the report: per dataset the scores
        (best per column marked), the paired difference to --baseline with a t interval, the
        synergy indicator, cost, robustness curves, the interaction profile when a PID record
        is present, and per-sample views. Records of different runs get one row per run in the
        printed table, so runs with other settings are never averaged together.
        """
        from infofusion.errors import ConfigError, FormatError, OutputPathError
        from infofusion.io_paths import check_writable
        from infofusion.report import markdown_table, summarize
        from infofusion.report.records import load_records
        from infofusion.report.tables import run_id, table_title

        targets: list[Path] = []
        if out is not None:
            if out.suffix not in (".md", ".html", ".markdown"):
                raise ConfigError(f"--out '{out}': the report is written as .md or .html (an .html page gets a .md twin), got '{out.suffix or 'no suffix'}'")
            check_writable(out, "--out")
            targets = [out] + ([out.with_suffix(".md")] if out.suffix == ".html" else [])
            for t in targets:
                if t.exists() and not overwrite:
                    raise OutputPathError(f"--out: '{t}' exists; pass --overwrite to replace it", path=t, what="--out")
        source = records
        if records.is_dir():
            if not (records / "results.jsonl").exists():
                raise FormatError("is a directory without results.jsonl; expected a JSON-lines results file "
                                  "or a bench run folder", path=records)
            source = records / "results.jsonl"
        recs = [r for r in load_records(source) if r.kind != "pid"]
        if run:
            have = sorted({run_id(r) for r in recs})
            recs = [r for r in recs if run_id(r) in set(run)]
            if not recs:
                raise ConfigError(f"--run {', '.join(run)}: no record of that run in '{records}' (runs: {', '.join(have)})")
        if not recs:
            raise FormatError("holds no training or bench record", path=source)
        by_run = len({run_id(r) for r in recs}) > 1
        rows = summarize(recs, by_run=by_run)
        typer.echo(f"{table_title(recs)}\n\n" + markdown_table(rows))
        if out is None:
            return
        from infofusion.report.compare import write_report

        for path in write_report(records, out, baseline=baseline, robust_baseline=robust_baseline,
                                 markdown_only=out.suffix != ".html"):
            typer.echo(f"wrote {path}")
