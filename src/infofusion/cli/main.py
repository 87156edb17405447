"""Entry point of the ``infofusion`` command.

Each command group lives in its own small module exposing ``register(app)``; those modules import
only typer at module level (torch and friends load inside the commands), so ``--help`` is fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="infofusion",
    help="Information-theoretic multimodal learning: measure, learn, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# command modules, in the order their commands appear in --help
_COMMAND_MODULES = ("train", "mi", "pid", "datasets")

for _name in _COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"infofusion.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command module not present in this build
        if exc.name != f"infofusion.cli.{_name}":
            raise
        continue
    _mod.register(app)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        from infofusion import __version__

        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Run the CLI; library errors become a one-line message and exit code 2."""
    from infofusion.errors import InfoFusionError

    try:
        app()
    except InfoFusionError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
