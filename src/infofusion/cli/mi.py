"""``infofusion mi X.npy Y.npy [--z Z.npy] [--estimator NAME]``: estimate mutual information."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def _load_array(path: Path, what: str) -> Any:
    """Read ``.npy`` or delimited text (``.csv``, ``.tsv``, ``.txt``) into an array."""
    import numpy as np

    from infofusion.errors import FormatError

    if not path.exists():
        raise FormatError(f"{what}: no such file", path=path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix in (".csv", ".tsv", ".txt"):
            return np.loadtxt(path, delimiter={".csv": ",", ".tsv": "\t"}.get(suffix), ndmin=1)
    except (ValueError, EOFError, OSError) as exc:  # EOFError: an empty or cut .npy
        raise FormatError(f"{what}: cannot read numbers ({exc})", path=path) from exc
    raise FormatError(f"{what}: expected .npy, .csv, .tsv or .txt, got '{suffix}'", path=path)


def register(app: typer.Typer) -> None:
    @app.command("mi")
    def mi(
        x: Path | None = typer.Argument(None, help="Samples of X: (N,) or (N, Dx), .npy or .csv."),
        y: Path | None = typer.Argument(None, help="Samples of Y paired row by row with X."),
        z: Path | None = typer.Option(None, "--z", help="Condition on Z: estimate I(X; Y | Z)."),
        estimator: str = typer.Option(
            "auto", "--estimator", "-e", help="Estimator name (see --list)."
        ),
        params: list[str] | None = typer.Option(
            None, "--set", help="Estimator parameter key=value (repeatable), e.g. --set k=5."
        ),
        bits: bool = typer.Option(False, "--bits", help="Report in bits instead of nats."),
        as_json: bool = typer.Option(False, "--json", help="Print the full estimate as JSON."),
        out: Path | None = typer.Option(
            None, "--out", help="Append the result as a JSON-lines record."
        ),
        progress: bool = typer.Option(
            True, "--progress/--no-progress", help="Progress bar for neural estimators."
        ),
        list_: bool = typer.Option(False, "--list", help="List the estimators and exit."),
    ) -> None:
        """Estimate the mutual information I(X; Y) (or I(X; Y | Z)) with its uncertainty."""
        from infofusion.cli.options import parse_options
        from infofusion.measures.mi import create_estimator, list_estimators

        if list_:
            for name, help_ in list_estimators().items():
                typer.echo(f"{name:10s} {help_}")
            return
        if x is None or y is None:
            raise typer.BadParameter("give two files, X and Y (or --list)")
        if out is not None:
            from infofusion.io_paths import check_writable

            check_writable(out, "--out")  # before any work
        xa, ya = _load_array(x, "X"), _load_array(y, "Y")
        za = None if z is None else _load_array(z, "Z")
        est = create_estimator(estimator, **parse_options(params))
        if progress:
            result = _run_with_progress(est, xa, ya, za)
        else:
            result = est.estimate(xa, ya, za)
        if bits:
            result = result.to_bits()
        if out is not None:
            from infofusion.api import versions
            from infofusion.interfaces import RunRecord, write_records

            rec = RunRecord(
                kind="mi",
                config={
                    "x": str(x),
                    "y": str(y),
                    "z": None if z is None else str(z),
                    "estimator": estimator,
                    "params": result.params,
                },
                seed=result.params.get("seed"),
                metrics={
                    "mi": result.value,
                    "stderr": result.stderr if result.stderr is not None else float("nan"),
                },
                timings={"estimate": result.seconds},
                versions=versions(),
                extra={"estimate": result.to_dict()},
            )
            write_records(out, [rec])
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2))
            return
        typer.echo(format_estimate(result, conditional=z is not None))


def format_estimate(est: Any, conditional: bool = False) -> str:
    """One line: value, standard error, CI, estimator, sample count and time."""
    what = "I(X; Y | Z)" if conditional else "I(X; Y)"
    line = f"{what} = {est.value:.4f} {est.unit}"
    if est.stderr is not None:
        line += f" ± {est.stderr:.4f}"
    if est.ci is not None:
        line += f"  ({est.ci_level:.0%} CI {est.ci[0]:.4f} .. {est.ci[1]:.4f})"
    kind = est.extra.get("kind", "estimate")
    note = "" if kind == "estimate" else f", {kind.replace('_', ' ')}"
    line += f"  [{est.estimator}{note}, n={est.n}, {est.seconds:.2f} s]"
    if "chosen" in est.extra:
        parts = ", ".join(f"{k} {v['value']:.4f}" for k, v in est.extra["components"].items())
        line += f"\n  components: {parts} -> {est.extra['chosen']}"
    return line


def _run_with_progress(est: Any, x: Any, y: Any, z: Any) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[msg]}"),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(est.name, total=None, msg="")

        def report(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, msg=message)

        est.progress = report
        return est.estimate(x, y, z)
