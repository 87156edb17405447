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
        estimator: str = typer.Option(
            "auto", "--estimator",
            help="Dataset-level estimator: plugin (discretise + plug-in), batch (neural); "
            "auto: the most accurate on the synthetic suite",
        ),
        measure: str = typer.Option(None, "--measure", help="Discrete PID measure of plugin: broja, imin, mmi"),
        k: int = typer.Option(None, "--k", help="plugin: k-means clusters per modality (>= 2; default 10)"),
        representation: str = typer.Option(
            None, "--representation",
            help="plugin: cluster 'features' or cross-fitted unimodal 'model' probabilities",
        ),
        n_boot: int = typer.Option(None, "--boot", help="plugin: bootstrap resamples (default 100)"),
        n_perm: int = typer.Option(None, "--perm", help="plugin: label permutations for the null level (default 20)"),
        correction: str = typer.Option(None, "--correction", help="plugin: bias correction (default empirical_bayes)"),
        unit: str = typer.Option("bits", "--unit", help="Unit of the atoms: bits or nats"),
        pointwise: bool = typer.Option(True, "--pointwise/--no-pointwise", help="Per-sample composition"),
        out: str = typer.Option("results/analyze", "--out", help="Folder for plots and records"),
        records: str = typer.Option(None, "--records", help="JSON-lines file (default OUT/records.jsonl)"),
        seed: int = typer.Option(0, "--seed"),
        est_opt: list[str] = typer.Option(
            None, "--set", help="Other estimator option KEY=VALUE (repeatable), e.g. --set epochs=20 "
            "(as --set sets the method's options in train and the estimator's in mi)"
        ),
        opt: list[str] = typer.Option(
            None, "--data-set", help="Dataset loader option KEY=VALUE (repeatable), as in train"
        ),
    ) -> None:
        """Print R, U1, U2, S (corrected, interval, null level), write plots and a JSON record."""
        from infofusion.api import analyze
        from infofusion.cli.options import parse_options
        from infofusion.errors import ConfigError
        from infofusion.io_paths import check_writable

        check_writable(out, "--out", kind="dir")  # before any work
        if records:
            check_writable(records, "--records")
        mods = None
        if modalities:
            mods = tuple(m.strip() for m in modalities.split(",") if m.strip())
            if len(mods) != 2:
                raise ConfigError(f"--modalities needs two names, got {modalities!r}")
        if unit not in ("bits", "nats"):
            raise ConfigError(f"--unit must be bits or nats, got {unit!r}")
        for flag, value, low in (("--k", k, 2), ("--boot", n_boot, 0), ("--perm", n_perm, 0)):
            if value is not None and value < low:
                raise ConfigError(f"{flag} must be >= {low}, got {value}")
        analyze(
            data, modalities=mods, estimator=estimator, measure=measure, k=k,
            representation=representation, n_boot=n_boot, n_perm=n_perm, correction=correction,
            estimator_options=parse_options(est_opt), unit=unit, pointwise=pointwise, out_dir=out,
            records=records, seed=seed, **parse_options(opt),
        )
