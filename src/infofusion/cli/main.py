"""Entry point of the ``infofusion`` command.

Each command group lives in its own small module exposing ``register(app)``; those modules import
only typer at module level (torch and friends load inside the commands), so ``--help`` is fast.

Conventions every command follows (the root group below enforces them for all of them):

* A user error -- an :class:`~infofusion.errors.InfoFusionError`, an ``OSError`` such as an
  unwritable output path, or a malformed command line -- ends in one line on stderr,
  ``error: <what is wrong, naming the option/file/value>``, and exit status 2. No traceback;
  ``infofusion --debug <command> ...`` shows it.
* Boolean options are plain flags (``--quick``, ``--progress/--no-progress``); they take no
  value (``--quick true`` is a usage error) and their help shows no value placeholder.
* Output locations are checked with :func:`infofusion.io_paths.check_writable` before any work
  starts; no command deletes or overwrites an earlier result (records are appended, files of a
  run go to a folder named by its run id, an existing ``--out`` file needs ``--overwrite``).
* Things worth knowing that are no error (an :class:`~infofusion.errors.InfoFusionWarning`:
  ``--resume`` without a checkpoint, a dataset without a validation split) are one
  ``warning: ...`` line on stderr.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.2x carries its own copy of click
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as _cx

_NoArgsIsHelp = getattr(_cx, "NoArgsIsHelpError", ())
_BOOL_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def user_error_message(exc: BaseException) -> str | None:
    """The one-line message for an exception that is the user's (or the environment's) doing,
    or None for a bug (which keeps its traceback)."""
    from infofusion.errors import InfoFusionError

    if isinstance(exc, InfoFusionError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"'{exc.filename}': " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}"
    if isinstance(exc, EOFError):
        return f"unexpected end of input ({exc or 'EOFError'})"
    return None


def _plain_flags(params: list[Any]) -> None:
    """Boolean flags take no value: show no ``<bool>`` placeholder in their help."""
    for p in params:
        if getattr(p, "is_flag", False) and not getattr(p, "count", False):
            p.display_type_rich = lambda ctx=None: None  # type: ignore[method-assign]


def _with_plain_flags(cmd: Any) -> Any:
    if getattr(cmd, "_plain_flags", False):
        return cmd
    original = cmd.format_help

    def format_help(ctx: Any, formatter: Any) -> None:
        _plain_flags(cmd.get_params(ctx))
        original(ctx, formatter)

    cmd.format_help = format_help  # type: ignore[method-assign]
    cmd._plain_flags = True  # type: ignore[attr-defined]
    for sub in getattr(cmd, "commands", {}).values():
        _with_plain_flags(sub)
    return cmd


class RootGroup(TyperGroup):
    """The ``infofusion`` group: one-line ``error:`` messages and exit 2 for user errors."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        return None if cmd is None else _with_plain_flags(cmd)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_flags(self.get_params(ctx))
        super().format_help(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        import warnings

        from infofusion.errors import InfoFusionWarning

        original = warnings.showwarning

        def show(message: Any, category: Any, *args: Any, **kw: Any) -> None:
            if issubclass(category, InfoFusionWarning):
                typer.secho(f"warning: {message}", err=True, fg="yellow")
            else:
                original(message, category, *args, **kw)

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", InfoFusionWarning)
                warnings.showwarning = show
                return super().invoke(ctx)
        except (typer.Exit, typer.Abort, _cx.ClickException):
            raise
        except Exception as exc:
            message = user_error_message(exc)
            if message is None or ctx.params.get("debug"):
                raise
            typer.secho(f"error: {message}", err=True, fg="red")
            ctx.exit(2)

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
        except _NoArgsIsHelp as exc:  # bare `infofusion` / `infofusion datasets`: the help
            exc.show()
            code = exc.exit_code
        except _cx.ClickException as exc:
            message = " ".join(exc.format_message().split())
            ctx = getattr(exc, "ctx", None)
            if "unexpected extra argument" in message and _BOOL_WORDS & set(
                message.lower().replace("(", " ").replace(")", " ").split()
            ):
                message += "; boolean options are flags and take no value (--quick, --no-quick)"
            if isinstance(exc, _cx.UsageError) and ctx is not None:
                message += f" (see '{ctx.command_path} --help')"
            typer.secho(f"error: {message}", err=True, fg="red")
            code = exc.exit_code
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            code = 1
        except Exception as exc:  # raised while parsing, before invoke() could map it
            message = user_error_message(exc)
            if message is None or "--debug" in (sys.argv[1:] if args is None else list(args)):
                raise
            typer.secho(f"error: {message}", err=True, fg="red")
            code = 2
        sys.exit(code)


app = typer.Typer(
    name="infofusion",
    help="Information-theoretic multimodal learning: measure, learn, compare.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=RootGroup,
)

# command modules, in the order their commands appear in --help
_COMMAND_MODULES = ("train", "predict", "mi", "pid", "recommend", "datasets")

for _name in _COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"infofusion.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command module not present in this build
        if exc.name != f"infofusion.cli.{_name}":
            raise
        continue
    _mod.register(app)


def _print_version(value: bool) -> None:
    if value:
        from infofusion import __version__

        typer.echo(f"infofusion {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an error instead of one line."
    ),
) -> None:
    """Information-theoretic multimodal learning: measure, learn, compare."""


def main() -> None:
    """Run the CLI (the ``infofusion`` console script)."""
    app()


if __name__ == "__main__":
    main()
