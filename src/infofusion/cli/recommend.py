"""``infofusion recommend``: which fusion family suits a dataset, from its interaction profile."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("recommend")
    def recommend_cmd(
        data: str = typer.Option(..., "--data", "-d", help="Dataset spec, e.g. synthetic:synergy"),
        modalities: str = typer.Option(None, "--modalities", help="Two modalities, comma separated (default: the first two)"),
        estimator: str = typer.Option("auto", "--estimator", help="Dataset-level PID estimator (see `infofusion analyze`)"),
        n_boot: int = typer.Option(None, "--boot", help="plugin: bootstrap resamples for the intervals"),
        seed: int = typer.Option(0, "--seed"),
        opt: list[str] = typer.Option(None, "--data-set", help="Dataset loader option KEY=VALUE (repeatable)"),
    ) -> None:
        """Print the PID atoms with intervals, the per-modality MI, and the ranked method
        families with the reason for each (families ruled out are listed apart)."""
        from infofusion.api import recommend
        from infofusion.cli.options import parse_options
        from infofusion.errors import ConfigError

        mods = None
        if modalities:
            mods = tuple(m.strip() for m in modalities.split(",") if m.strip())
            if len(mods) != 2:
                raise ConfigError(f"--modalities needs two names, got {modalities!r}")
        if n_boot is not None and n_boot < 0:
            raise ConfigError(f"--boot must be >= 0, got {n_boot}")
        rec = recommend(data, modalities=mods, estimator=estimator, n_boot=n_boot, seed=seed, **parse_options(opt))
        typer.echo(f"interaction profile of {data} ({', '.join(rec.modalities)}), {rec.unit}:")
        for a, (v, lo, hi) in rec.atoms.items():
            typer.echo(f"  {a:3s} {v:7.3f}  [{lo:.3f}, {hi:.3f}]  ({100 * rec.shares.get(a, 0):.0f} %)")
        if rec.mi:
            typer.echo("  " + ", ".join(f"{k} = {v:.3f}" for k, v in rec.mi.items()))
        typer.echo(f"rule: {rec.rule}")
        typer.echo("recommended families, best first:")
        for i, r in enumerate(rec.ranked, start=1):
            typer.echo(f"  {i}. {r['family']} ({', '.join(r['methods'])}): {r['reason']}")
        if rec.excluded:
            typer.echo("ruled out:")
            for r in rec.excluded:
                typer.echo(f"  - {r['family']} ({', '.join(r['methods'])}): {r['reason']}")
        for n in rec.notes:
            typer.echo(f"note: {n}")
