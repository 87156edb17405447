"""``infofusion train``, ``infofusion bench`` and ``infofusion methods``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from infofusion.cli.options import dataclass_options, dataclass_values, parse_options
from infofusion.training.config import TrainConfig


def _print_table(rows: list[dict], metrics: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from infofusion.report.tables import format_cell

    table = Table(title="test split, mean ± std over seeds (models selected on validation)")
    for col in ["data", "method", "seeds"]:
        table.add_column(col, overflow="fold")
    for col in metrics:
        table.add_column(col.split("/", 1)[-1], no_wrap=True)
    for r in rows:
        table.add_row(*[format_cell(r.get(c, (float("nan"), 0.0))) for c in ["data", "method", "seeds", *metrics]])
    Console().print(table)


def register(app: typer.Typer) -> None:
    @app.command()
    @dataclass_options(TrainConfig, exclude=("seed",))
    def train(
        method: str = typer.Option(..., "--method", "-m", help="Method name (see `infofusion methods`)."),
        data: str = typer.Option("synthetic:synergy", "--data", "-d", help="Dataset spec, e.g. synthetic:synergy, uci_mfeat, mmsa:PATH."),
        seeds: int = typer.Option(1, "--seeds", help="Number of seeds (seed-start .. seed-start+n-1)."),
        seed_start: int = typer.Option(0, "--seed-start", help="First seed."),
        options: list[str] | None = typer.Option(None, "--set", help="Method option KEY=VALUE (repeatable), e.g. --set hidden=64."),
        data_options: list[str] | None = typer.Option(None, "--data-set", help="Dataset loader option KEY=VALUE (repeatable), e.g. fold=2."),
        out: Path = typer.Option(Path("results/train.jsonl"), "--out", help="JSON-lines file receiving one record per seed."),
        plots: Path | None = typer.Option(None, "--plots", help="Folder for the method's own plots (e.g. ITHP's information plane)."),
        per_sample: Path | None = typer.Option(None, "--per-sample", help="Folder for each seed's per-sample test outputs (.npz: predictions, branch outputs, diagnostics such as gate weights)."),
        probe: bool = typer.Option(False, "--probe/--no-probe", help="Linear probe on each modality's frozen encoder outputs (test/probe/<modality>/accuracy)."),
        **train_options: Any,
    ) -> None:
        """Train a method on a dataset over seeds and print mean ± std of the test metrics.

        The training options (--epochs ... --eval-batch-size) are the fields of TrainConfig.
        When the output is not a terminal, one line is printed per finished seed.
        """
        from infofusion.api import run_line
        from infofusion.api import train as api_train
        from infofusion.progress import Progress
        from infofusion.report import summarize
        from infofusion.training.distributed import init_if_launched, is_main_process

        init_if_launched()
        opts = parse_options(options)
        cfg = TrainConfig(**dataclass_values(TrainConfig, train_options))
        main = is_main_process()
        # on a terminal the trainer draws a bar per run; a log gets one line per seed
        with Progress(total=seeds, enabled=cfg.progress and main, bar=False) as progress:
            records = api_train(method, data, seeds=list(range(seed_start, seed_start + seeds)), config=cfg,
                                method_options=opts, out=out if main else None,
                                data_options=parse_options(data_options), plots_dir=plots, per_sample_dir=per_sample,
                                probe=probe,
                                on_result=lambda rec, _: progress.advance(run_line(rec)))
        if not main:
            return
        from infofusion.report.tables import headline_metrics

        keys = headline_metrics(records)
        keys += sorted({k for r in records for k in r.metrics if k.startswith("test/probe/")})
        _print_table(summarize(records, keys), keys)
        extra = records[-1].extra
        if "modality_order" in extra:
            typer.echo(f"modality order: {extra['modality_order']}")
        for r in records:
            for path in r.extra.get("plots", []):
                typer.echo(f"wrote {path}")
        typer.echo(f"records appended to {out}")

    @app.command()
    @dataclass_options(TrainConfig, exclude=("seed", "checkpoint_dir", "resume", "progress"),
                       unset="(default: the bench budget, see --quick)")
    def bench(
        quick: bool = typer.Option(False, "--quick", help="Short budget (40 epochs max, patience 8, lr 2e-3; 3 seeds)."),
        methods: list[str] | None = typer.Option(None, "--method", "-m", help="Restrict to these methods (repeatable)."),
        datasets: list[str] | None = typer.Option(None, "--data", "-d", help="Restrict to these datasets (repeatable)."),
        seeds: int | None = typer.Option(None, "--seeds"),
        out_dir: Path = typer.Option(Path("results/bench"), "--out", help="Folder for results.jsonl, table.md and table.html."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Bar on a terminal, one line per run otherwise."),
        probe: bool | None = typer.Option(None, "--probe/--no-probe", help="Linear probe on each encoder (default: only on datasets with a weak modality, the synthetic imbalance tasks)."),
        **train_options: Any,
    ) -> None:
        """Run every registered method on the built-in datasets; write a Markdown table.

        Training options given here (--epochs, --lr, ...) replace the bench budget's.
        """
        import dataclasses

        from infofusion.api import bench as api_bench
        from infofusion.api import bench_config

        given = dataclass_values(TrainConfig, train_options, drop_none=True)
        config = dataclasses.replace(bench_config(quick), **given) if given else None
        _, table = api_bench(quick=quick, methods=methods, datasets=datasets, seeds=seeds, out_dir=out_dir,
                             progress=progress, config=config, probe=probe)
        typer.echo(table)
        typer.echo(f"written: {out_dir / 'results.jsonl'}, {out_dir / 'table.md'}, {out_dir / 'table.html'}")

    @app.command()
    def methods() -> None:
        """List the registered fusion methods."""
        from infofusion.registry import describe

        for name, doc in describe("method").items():
            typer.echo(f"{name:12s} {doc}")

    @app.command()
    def report(
        records: Path = typer.Argument(..., help="JSON-lines results file."),
        out: Path | None = typer.Option(None, "--out", help="Write the table here (.md or .html)."),
    ) -> None:
        """Build a mean ± std table from a results file."""
        from infofusion.interfaces import read_records
        from infofusion.report import html_table, markdown_table, summarize

        rows = summarize(read_records(records))
        text = html_table(rows) if out is not None and out.suffix == ".html" else markdown_table(rows)
        if out is not None:
            out.write_text(text, encoding="utf-8")
        typer.echo(text)
