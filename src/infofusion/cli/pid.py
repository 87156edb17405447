"""``infofusion analyze``: interaction profile (R, U1, U2, S) of a dataset."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze_cmd(
        data: str = typer.Option(..., "--data", help="Dataset spec, e.g. synthetic:mixed"),
        modalities: str = typer.Option(
            None, "--modalities", help="Two modalities, comma separated (default: the first two)"
        ),
        k: int = typer.Option(10, "--k", help="k-means clusters per modality"),
        representation: str = typer.Option(
            "features", "--representation", help="Cluster 'features' or unimodal 'model' outputs"
        ),
        measure: str = typer.Option("broja", "--measure", help="PID measure: broja, imin, mmi"),
        n_boot: int = typer.Option(100, "--boot", help="Bootstrap resamples"),
        n_perm: int = typer.Option(50, "--perm", help="Label permutations for the null level"),
        pointwise: bool = typer.Option(True, "--pointwise/--no-pointwise", help="Per-sample composition"),
        out: str = typer.Option("results/analyze", "--out", help="Folder for plots and records"),
        records: str = typer.Option(None, "--records", help="JSON-lines file (default OUT/records.jsonl)"),
        seed: int = typer.Option(0, "--seed"),
        opt: list[str] = typer.Option(None, "--set", "--opt", "-o", help="Loader option KEY=VALUE (repeatable)"),
    ) -> None:
        """Print R, U1, U2, S (bits, bootstrap CI, null level), write plots and a JSON record."""
        from infofusion.cli.datasets import parse_options
        from infofusion.errors import ConfigError
        from infofusion.io_paths import check_writable
        from infofusion.measures.pid.analyze import analyze

        check_writable(out, "--out", kind="dir")  # before any work
        if records:
            check_writable(records, "--records")
        mods = None
        if modalities:
            mods = tuple(m.strip() for m in modalities.split(",") if m.strip())
            if len(mods) != 2:
                raise ConfigError(f"--modalities needs two names, got {modalities!r}")
        analyze(
            data, modalities=mods, k=k, representation=representation, measure=measure,
            n_boot=n_boot, n_perm=n_perm, pointwise=pointwise, out_dir=out, records=records,
            seed=seed, **parse_options(opt),
        )
