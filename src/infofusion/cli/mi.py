"""``infofusion mi X.npy Y.npy [--z Z.npy] [--estimator NAME]``: estimate mutual information."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer

#: what each quantity is called on the result line
_LABELS = {
    "mutual_information": "I",
    "cs_qmi": "I_CS",
    "diffusion_mi": "DSMI",
    "wasserstein": "W",
}


def _load_array(path: Path, what: str) -> Any:
    """Read ``.npy`` or delimited text (``.csv``, ``.tsv``, ``.txt``) into a numeric array.

    Raises:
        FormatError: missing, unreadable, empty or non-numeric file (names the file).
    """
    import numpy as np

    from infofusion.errors import FormatError

    if not path.exists():
        raise FormatError(f"{what}: no such file", path=path)
    if path.is_dir():
        raise FormatError(f"{what}: is a directory, expected a file", path=path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".csv", ".tsv", ".txt"):
        raise FormatError(f"{what}: expected .npy, .csv, .tsv or .txt, got '{suffix}'", path=path)
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            delim = {".csv": ",", ".tsv": "\t"}.get(suffix)
            arr = np.loadtxt(path, delimiter=delim, ndmin=1)
    except (ValueError, EOFError, OSError, UnicodeDecodeError) as exc:
        reason = "the file is empty" if path.stat().st_size == 0 else str(exc) or type(exc).__name__
        raise FormatError(f"{what}: cannot read numbers ({reason})", path=path) from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiub":
        kind = getattr(arr, "dtype", type(arr).__name__)
        raise FormatError(f"{what}: expected a numeric array, got {kind}", path=path)
    if arr.size == 0:
        raise FormatError(f"{what}: the array is empty (shape {arr.shape})", path=path)
    return arr


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
        unit: str = typer.Option(
            "nats", "--unit", help="Unit of the result: nats or bits.", show_choices=True
        ),
        bits: bool = typer.Option(False, "--bits", help="Same as --unit bits."),
        as_json: bool = typer.Option(False, "--json", help="Print the full estimate as JSON."),
        out: Path | None = typer.Option(
            None, "--out", help="Append the result as a JSON-lines record."
        ),
        progress: bool = typer.Option(
            True,
            "--progress/--no-progress",
            help="Progress of neural estimators: a bar on a terminal, plain lines otherwise.",
        ),
        list_: bool = typer.Option(False, "--list", help="List the estimators and exit."),
    ) -> None:
        """Estimate the mutual information I(X; Y) (or I(X; Y | Z)) with its uncertainty."""
        from infofusion.cli.options import parse_options
        from infofusion.errors import ConfigError
        from infofusion.measures.mi import create_estimator, list_estimators

        if list_:
            typer.echo(format_list(list_estimators(detailed=True)))
            return
        if x is None or y is None:
            raise typer.BadParameter("give two files, X and Y (or --list)")
        if unit not in ("nats", "bits"):
            raise ConfigError(f"--unit must be 'nats' or 'bits', got {unit!r}")
        if bits and unit == "nats":
            unit = "bits"
        if out is not None:
            from infofusion.io_paths import check_writable

            check_writable(out, "--out")  # before any work
        est = create_estimator(estimator, **parse_options(params))
        if unit == "bits" and est.unit != "nats":
            raise ConfigError(
                f"estimator '{estimator}' reports in {est.unit} units, which have no bits; "
                "leave --unit at its default"
            )
        xa, ya = _load_array(x, "X"), _load_array(y, "Y")
        za = None if z is None else _load_array(z, "Z")
        if not progress:
            result = est.estimate(xa, ya, za)
        elif sys.stdout.isatty():
            result = _run_with_bar(est, xa, ya, za)
        else:
            result = _run_with_lines(est, xa, ya, za)
        if unit == "bits":
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
                    "unit": result.unit,
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


def format_list(entries: dict[str, dict[str, str]]) -> str:
    """``--list``: the MI estimators, then the dependence measures that are not Shannon MI."""
    mi = {k: v for k, v in entries.items() if v["quantity"] == "mutual_information"}
    other = {k: v for k, v in entries.items() if v["quantity"] != "mutual_information"}
    lines = ["mutual information (nats):"]
    lines += [f"  {name:10s} {e['help']}" for name, e in mi.items()]
    if other:
        lines.append("other dependence measures (not Shannon MI; see docs/measures/):")
        lines += [
            f"  {name:10s} {e['help']} [{e['quantity']}, {e['unit']}]" for name, e in other.items()
        ]
    return "\n".join(lines)


def format_estimate(est: Any, conditional: bool = False) -> str:
    """One line: value, standard error, CI, estimator, sample count and time; then notes."""
    symbol = _LABELS.get(est.extra.get("quantity", "mutual_information"), "I")
    what = f"{symbol}(X; Y | Z)" if conditional else f"{symbol}(X; Y)"
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
        for name, why in est.extra.get("failed", {}).items():
            line += f"\n  left out {name}: {why}"
    if "constant_side" in est.extra:
        line += f"\n  note: {est.extra['constant_side']} is constant, so the value is exactly 0"
    if est.extra.get("trivial_critic"):
        line += "\n  note: no trained critic beat the constant critic on validation data (bound 0)"
    if est.extra.get("below_valid_range"):
        line += "\n  note: below 0, the valid range of a lower bound: the critic generalised poorly"
    return line


def _run_with_bar(est: Any, x: Any, y: Any, z: Any) -> Any:
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


def _run_with_lines(est: Any, x: Any, y: Any, z: Any, every_s: float = 2.0) -> Any:
    """Plain progress lines on stderr (stdout may carry JSON), at most one per ``every_s``."""
    t0 = time.perf_counter()
    last = [-every_s]

    def report(done: int, total: int, message: str) -> None:
        now = time.perf_counter() - t0
        if total and done < total and now - last[0] < every_s:
            return
        last[0] = now
        where = f" {done}/{total}" if total else ""
        typer.echo(f"[{now:6.1f} s] {est.name}{where}: {message}", err=True)

    est.progress = report
    return est.estimate(x, y, z)
