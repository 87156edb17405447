"""Progress that both a terminal and a log file can read.

On a terminal, :class:`Progress` draws a rich bar (transient: it disappears when done). When the
stream is not a terminal -- output redirected to a file, a pipe, a CI log -- a redrawn bar would
show nothing until the end, so it prints one plain line per finished item instead, flushed at
once, prefixed with ``[done/total]``::

    with Progress(total=len(runs), description="bench") as progress:
        for run in runs:
            progress.describe(f"bench · {run}")          # bar label (terminal only)
            result = do(run)
            progress.advance(f"{run}: accuracy {result:.4f}")  # bar +1, or one log line

``lines=False`` keeps a log silent (for per-epoch bars whose items are too many to log);
``bar=False`` draws nothing on a terminal (when an inner loop draws its own bar there).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """A rich bar on a terminal, one plain line per finished item otherwise.

    Args:
        total: number of items (``None``: unknown).
        description: label of the bar.
        enabled: False turns every call into a no-op.
        lines: print one line per :meth:`advance` when the stream is not a terminal.
        bar: draw the bar when the stream is a terminal.
        stream: where to write (default ``sys.stdout``).
        tty: force terminal (True) or log (False) behaviour; default: ``stream.isatty()``.
    """

    def __init__(
        self,
        total: int | None = None,
        description: str = "",
        *,
        enabled: bool = True,
        lines: bool = True,
        bar: bool = True,
        stream: TextIO | None = None,
        tty: bool | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)()) if tty is None else tty
        self.enabled = enabled
        self.use_bar = enabled and bar and is_tty
        self.use_lines = enabled and lines and not is_tty
        self.total = total
        self.description = description
        self.done = 0
        self._rich: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.use_bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(file=self.stream), transient=True,
            )
            self._rich.__enter__()
            self._task = self._rich.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
            self._rich = None

    def start(self, total: int | None, description: str = "", completed: int = 0) -> None:
        """Begin a new series of items (a new bar on a terminal), e.g. one per training stage."""
        self.total, self.description, self.done = total, description, completed
        if self._rich is not None:
            self._rich.remove_task(self._task)
            self._task = self._rich.add_task(description, total=total, completed=completed)

    def describe(self, text: str) -> None:
        """Change the bar's label (nothing is printed to a log)."""
        self.description = text
        if self._rich is not None:
            self._rich.update(self._task, description=text)

    def advance(self, line: str | None = None, *, description: str | None = None) -> None:
        """One item finished: the bar moves on; a log gets ``line`` (when given) as one line."""
        self.done += 1
        if self._rich is not None:
            self._rich.update(self._task, advance=1, **({} if description is None else {"description": description}))
        if self.use_lines and line is not None:
            prefix = f"[{self.done}/{self.total}] " if self.total else ""
            print(prefix + line, file=self.stream, flush=True)
