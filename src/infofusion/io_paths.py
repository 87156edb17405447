"""Output locations checked before any work starts.

A run that trains for an hour and then cannot write its results has wasted the hour. Every
command that writes files calls :func:`check_writable` for each output location first; a
location that cannot be written is an :class:`~infofusion.errors.OutputPathError` naming the
option and the path, so the CLI reports it in one line before anything runs.

The check writes nothing that stays: where the location does not exist yet, it creates (and
removes) a probe file in the nearest existing folder above it, which is the only reliable test
(permission bits say nothing for root, read-only mounts or ``/proc``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from infofusion.errors import OutputPathError

__all__ = ["check_writable"]


def check_writable(
    path: str | os.PathLike[str], what: str, *, kind: Literal["file", "dir"] = "file"
) -> Path:
    """Check that ``path`` can be written as a file (``kind="file"``) or used as a folder to
    write into (``kind="dir"``); missing parent folders count as creatable when the nearest
    existing ancestor is a writable folder.

    Args:
        path: the output location.
        what: how the user named it, for the message (``"--out"``, ``"--checkpoint-dir"``).
        kind: ``"file"`` (a file is written or appended to) or ``"dir"`` (files go inside).

    Returns:
        The path, ``~`` expanded.

    Raises:
        OutputPathError: names ``what``, the path and the reason.
    """
    if kind not in ("file", "dir"):
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    if path is None or not str(path).strip():
        raise OutputPathError(f"{what}: an output path is required", path=path, what=what)
    p = Path(os.path.expanduser(str(path)))

    def fail(reason: str) -> OutputPathError:
        return OutputPathError(f"{what}: cannot write to '{p}': {reason}", path=p, what=what)

    if p.exists():
        if kind == "file":
            if p.is_dir():
                raise fail("it is a directory, a file is expected")
            if not os.access(p, os.W_OK):
                raise fail("permission denied")
            _probe(p.parent, fail)
        else:
            if not p.is_dir():
                raise fail("it is a file, a directory is expected")
            _probe(p, fail)
        return p
    ancestor = p.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise fail(f"'{ancestor}' is a file, not a directory")
    _probe(ancestor, fail)
    return p


def _probe(folder: Path, fail: object) -> None:
    """Create and remove a file in ``folder``; an OSError becomes ``fail(reason)``."""
    try:
        fd, name = tempfile.mkstemp(prefix=".infofusion-write-check-", dir=folder)
    except OSError as exc:
        raise fail(exc.strerror or str(exc)) from None  # type: ignore[operator]
    os.close(fd)
    os.unlink(name)
