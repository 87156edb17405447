"""``infofusion train``, ``infofusion bench`` and ``infofusion methods``."""

from __future__ import annotations

from pathlib import Path

import typer

from infofusion.cli.options import parse_options


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


def _list_layers(method: str, data: str, options: dict, data_options: dict) -> None:
    from infofusion.api import _as_dataset
    from infofusion.training import build_method
    from infofusion.training.info_plane import layer_names

    dataset = _as_dataset(data, data_options)[0]
    module = build_method(method, dataset, **options)
    declared = module.info_plane_layers() if hasattr(module, "info_plane_layers") else []
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
    def train(
        method: str = typer.Option(..., "--method", "-m", help="Method name (see `infofusion methods`)."),
        data: str = typer.Option("synthetic:synergy", "--data", "-d", help="Dataset spec, e.g. synthetic:synergy, uci_mfeat, mmsa:PATH."),
        seeds: int = typer.Option(1, "--seeds", help="Number of seeds (seed-start .. seed-start+n-1)."),
        seed_start: int = typer.Option(0, "--seed-start", help="First seed."),
        epochs: int = typer.Option(100, "--epochs"),
        batch_size: int = typer.Option(128, "--batch-size"),
        lr: float = typer.Option(1e-3, "--lr"),
        weight_decay: float = typer.Option(1e-4, "--weight-decay"),
        patience: int = typer.Option(10, "--patience", help="Early-stopping patience on validation (0: off)."),
        metric: str | None = typer.Option(None, "--metric", help="Validation metric for model selection."),
        protocol: str | None = typer.Option(None, "--protocol", help="Metric protocol (mmsa, magbert, mult, sims, classification, regression)."),
        options: list[str] | None = typer.Option(None, "--set", help="Method option key=value (repeatable)."),
        data_options: list[str] | None = typer.Option(None, "--data-set", help="Dataset loader option key=value (repeatable), e.g. fold=2."),
        out: Path = typer.Option(Path("results/train.jsonl"), "--out", help="JSON-lines file receiving one record per seed."),
        checkpoint_dir: Path | None = typer.Option(None, "--checkpoint-dir", help="Write a checkpoint every epoch (one subfolder per seed)."),
        resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint in --checkpoint-dir."),
        plots: Path | None = typer.Option(None, "--plots", help="Folder for the method's own plots (e.g. ITHP's information plane)."),
        device: str = typer.Option("auto", "--device", help="auto (CUDA when present), cpu or cuda."),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
        info_plane: str | None = typer.Option(None, "--info-plane", help="Information plane of these layers (LAYER[,LAYER]; 'default': the method's own; 'list': print the layer names and stop)."),
        info_plane_every: int = typer.Option(1, "--info-plane-every", help="Measure every K epochs (and at the last)."),
        info_plane_compress: str = typer.Option("pca:8", "--info-plane-compress", help="Compression before estimation: pca:K, ae:K or none."),
        info_plane_samples: int = typer.Option(1000, "--info-plane-samples", help="Validation samples measured (fixed subsample)."),
    ) -> None:
        """Train a method on a dataset over seeds and print mean ± std of the test metrics."""
        from infofusion.api import train as api_train
        from infofusion.report import summarize
        from infofusion.training import TrainConfig
        from infofusion.training.distributed import init_if_launched, is_main_process

        init_if_launched()
        opts = parse_options(options)
        plane = None
        if info_plane is not None and info_plane.strip() == "list":
            _list_layers(method, data, opts, parse_options(data_options))
            return
        if info_plane is None and (info_plane_every, info_plane_compress, info_plane_samples) != (1, "pca:8", 1000):
            from infofusion.errors import ConfigError

            raise ConfigError("--info-plane-every/--info-plane-compress/--info-plane-samples need --info-plane LAYER")
        if info_plane is not None:
            from infofusion.training.info_plane import InfoPlaneConfig

            plane = InfoPlaneConfig.of(info_plane, every=info_plane_every, compress=info_plane_compress,
                                       samples=info_plane_samples)
        cfg = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience,
            metric=metric, protocol=protocol, device=device, progress=progress, resume=resume,
            checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None,
        )
        records = api_train(method, data, seeds=list(range(seed_start, seed_start + seeds)), config=cfg,
                            method_options=opts, out=out if is_main_process() else None,
                            data_options=parse_options(data_options), plots_dir=plots, info_plane=plane)
        if not is_main_process():
            return
        from infofusion.report.tables import headline_metrics

        keys = headline_metrics(records)
        _print_table(summarize(records, keys), keys)
        extra = records[-1].extra
        if "order" in extra or "modality_order" in extra:
            typer.echo(f"modality order: {extra.get('order', extra.get('modality_order'))}")
        for r in records:
            if "info_plane" in r.extra:
                _print_info_plane(r.seed, r.extra["info_plane"])
        for r in records:
            for path in r.extra.get("plots", []):
                typer.echo(f"wrote {path}")
        typer.echo(f"records appended to {out}")

    @app.command()
    def bench(
        quick: bool = typer.Option(False, "--quick", help="Short budget (40 epochs max, 3 seeds)."),
        methods: list[str] | None = typer.Option(None, "--method", "-m", help="Restrict to these methods (repeatable)."),
        datasets: list[str] | None = typer.Option(None, "--data", "-d", help="Restrict to these datasets (repeatable)."),
        seeds: int | None = typer.Option(None, "--seeds"),
        out_dir: Path = typer.Option(Path("results/bench"), "--out", help="Folder for results.jsonl, table.md and table.html."),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Run every registered method on the built-in datasets; write a Markdown table."""
        from infofusion.api import bench as api_bench

        _, table = api_bench(quick=quick, methods=methods, datasets=datasets, seeds=seeds, out_dir=out_dir, progress=progress)
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
