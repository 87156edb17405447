"""Table-driven harness for malformed and hostile inputs.

A case is one line in ``cases.py``: an id, an area (for the summary), what to run -- a Python
callable or a command line -- the error class expected, and the substrings the message must
contain to name the offending thing (file, option, value, modality, limit)::

    api("generic/zero-byte-npy", "loaders", lambda f: load(f"generic:{f.write('e.npy', b'')}"),
        FormatError, "e.npy", "empty")
    cli("datasets/bogus-option", "datasets-cli",
        lambda f: ["datasets", "info", "--data", f"generic:{f.npz()}", "--set", "bogus=1"],
        ConfigError, "bogus", "accepted")

Inputs are fabricated on demand by :class:`Files` under one temporary folder, tiny, so the
whole table runs in seconds. :func:`run_case` returns an :class:`Outcome`; the tests assert
``outcome.ok``, and ``scripts/fuzz_summary.py`` counts outcomes by area and class.

A command-line case runs the real Typer app through ``CliRunner`` in standalone mode, as the
``infofusion`` console script does, and must end with exit status 2, exactly one line on
stderr starting ``error:`` that names the offending thing, and no traceback; the same command
with ``--debug`` must then raise the expected class (usage errors, which the command-line
parser raises before any command runs, are marked :data:`USAGE` and only checked for the line).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

USAGE = "usage"
"""Expected 'class' of a command-line usage error (bad flag, missing option, wrong type)."""

N = 12  # samples in the fabricated generic files


@dataclass(frozen=True)
class Case:
    """One malformed input and what it must produce."""

    id: str
    area: str
    run: Callable[[Files], Any]
    error: type[BaseException] | str
    names: tuple[str, ...]
    cli: bool = False
    xfail: str | None = None


def api(id: str, area: str, run: Callable[[Files], Any], error: type[BaseException] | str,
        *names: str, xfail: str | None = None) -> Case:  # fmt: skip
    """A Python-API case: ``run(files)`` must raise ``error`` naming each of ``names``."""
    return Case(id, area, run, error, names, cli=False, xfail=xfail)


def cli(id: str, area: str, argv: Callable[[Files], Sequence[str]],
        error: type[BaseException] | str, *names: str, xfail: str | None = None) -> Case:  # fmt: skip
    """A command-line case: ``infofusion <argv(files)>`` must fail with one ``error:`` line."""
    return Case(id, area, argv, error, names, cli=True, xfail=xfail)


@dataclass
class Outcome:
    """What a case produced. ``status`` is ``ok`` or the way it failed."""

    status: str  # ok | wrong-class | unnamed | no-error | traceback | not-one-line | exit-code
    raised: str  # class name raised ("-" when nothing was)
    message: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Files:
    """Tiny inputs fabricated on demand under ``root``."""

    root: Path
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def p(self, name: str) -> Path:
        """A path under the root (nothing is created)."""
        return self.root / name

    def write(self, name: str, data: bytes | str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def mkdir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def arrays(self, **changes: Any) -> dict[str, Any]:
        """Valid generic arrays (modalities ``a`` (N, 3), ``b`` (N, 2), int ``target``) with
        ``changes`` applied; a change to None removes the array."""
        out: dict[str, Any] = {
            "a": self.rng.normal(size=(N, 3)).astype(np.float32),
            "b": self.rng.normal(size=(N, 2)).astype(np.float32),
            "target": np.arange(N) % 2,
        }
        out.update(changes)
        return {k: v for k, v in out.items() if v is not None}

    def npz(self, name: str = "d.npz", **changes: Any) -> Path:
        path = self.root / name
        np.savez(path, **self.arrays(**changes))
        return path

    def npy(self, name: str, arr: Any) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, arr, allow_pickle=True)
        return path

    def h5(self, name: str = "d.h5", **changes: Any) -> Path:
        import h5py

        path = self.root / name
        with h5py.File(path, "w") as fh:
            for k, v in self.arrays(**changes).items():
                fh.create_dataset(k, data=v)
        return path

    def parquet(self, name: str = "d.parquet", **changes: Any) -> Path:
        import pandas as pd

        cols: dict[str, Any] = {}
        for k, v in self.arrays(**changes).items():
            v = np.asarray(v)
            if v.ndim == 1:
                cols[k] = v
            else:
                cols.update({f"{k}.{j}": v[:, j] for j in range(v.shape[1])})
        path = self.root / name
        pd.DataFrame(cols).to_parquet(path)
        return path

    def cut(self, path: Path, keep: float = 0.5) -> Path:
        """A copy of ``path`` truncated to ``keep`` of its bytes (same suffix)."""
        data = Path(path).read_bytes()
        out = Path(path).with_name("cut_" + Path(path).name)
        out.write_bytes(data[: int(len(data) * keep)])
        return out

    def pickle(self, name: str, obj: Any, protocol: int = 4) -> Path:
        return self.write(name, pickle.dumps(obj, protocol=protocol))

    # ---------------------------------------------------------------- the field's formats
    def mmsa(self, edit: Callable[[dict], Any] | None = None, name: str = "aligned_50.pkl") -> Path:
        """An MMSA pickle (tests/data/fixtures layout), ``edit(data)`` applied before writing."""
        from tests.data import fixtures

        path, data = fixtures.make_mmsa(self.mkdir("mmsa"), sizes=(6, 3, 3), filename=name)
        if edit is not None:
            edit(data)
            fixtures.write_pickle(path, data)
        return path

    def mult(self, edit: Callable[[dict], Any] | None = None) -> Path:
        from tests.data import fixtures

        path, data = fixtures.make_mult(self.mkdir("mult"), sizes=(6, 3, 3))
        if edit is not None:
            edit(data)
            fixtures.write_pickle(path, data)
        return path

    def magbert(self, edit: Callable[[dict], Any] | None = None) -> Path:
        from tests.data import fixtures

        path, data = fixtures.make_magbert(self.mkdir("magbert"), sizes=(6, 3, 3))
        if edit is not None:
            edit(data)
            fixtures.write_pickle(path, data)
        return path

    def mustard(self) -> Path:
        from tests.data import fixtures

        root, _ = fixtures.make_mustard(self.mkdir("mustard"), n=10, audio_dim=4, video_dim=3)
        return root

    def cremad(self) -> Path:
        from tests.data import fixtures

        root, _ = fixtures.make_cremad(
            self.mkdir("cremad"), n_train=6, n_test=6, spec_shape=(5, 4), frame_dim=3
        )
        return root


# ------------------------------------------------------------------------------------ running
def _names_missing(case: Case, message: str) -> list[str]:
    return [n for n in case.names if n not in message]


def _classify(case: Case, exc: BaseException) -> Outcome:
    from infofusion.errors import InfoFusionError

    message = str(exc)
    name = type(exc).__name__
    if isinstance(case.error, type) and not isinstance(exc, case.error):
        status = "wrong-class" if isinstance(exc, InfoFusionError) else "traceback"
        return Outcome(status, name, message, f"expected {case.error.__name__}")
    missing = _names_missing(case, message)
    if missing:
        return Outcome("unnamed", name, message, f"message does not name {missing}")
    return Outcome("ok", name, message)


def run_api(case: Case, files: Files) -> Outcome:
    try:
        result = case.run(files)
    except Exception as exc:  # noqa: BLE001 - classified below
        return _classify(case, exc)
    try:
        shown = repr(result)[:200]
    except Exception:  # noqa: BLE001 - e.g. a 5000-deep list that an unsafe loader returned
        shown = f"<{type(result).__name__}>"
    return Outcome("no-error", "-", shown, "returned instead of raising")


def run_cli(case: Case, files: Files) -> Outcome:
    """Run a command-line case with the case's folder as working directory, so default output
    locations (``results/...``) land there too."""
    import contextlib

    with contextlib.chdir(files.root):
        return _run_cli(case, files)


def _run_cli(case: Case, files: Files) -> Outcome:
    from typer.testing import CliRunner

    from infofusion.cli.main import app

    try:
        argv = [str(a) for a in case.run(files)]
    except Exception as exc:  # noqa: BLE001 - preparing the input failed: the case fails, the table runs on
        return Outcome("traceback", type(exc).__name__, str(exc)[:300], "preparing the command line failed")
    res = CliRunner().invoke(app, argv)
    stderr = res.stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if "Traceback" in res.output or (
        res.exception is not None and not isinstance(res.exception, SystemExit)
    ):
        exc = res.exception
        return Outcome("traceback", type(exc).__name__ if exc else "-", res.output[-300:])
    if res.exit_code != 2:
        status = "no-error" if res.exit_code == 0 else "exit-code"
        return Outcome(status, "-", res.output[-300:], f"exit status {res.exit_code}")
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return Outcome("not-one-line", "-", stderr[-300:], "stderr is not one 'error:' line")
    missing = _names_missing(case, lines[0])
    if missing:
        return Outcome("unnamed", "-", lines[0], f"message does not name {missing}")
    if case.error == USAGE:
        return Outcome("ok", USAGE, lines[0])
    debug = CliRunner().invoke(app, ["--debug", *argv])
    if debug.exception is None or isinstance(debug.exception, SystemExit):
        return Outcome("wrong-class", "-", lines[0], "--debug raised nothing")
    out = _classify(case, debug.exception)
    out.message = lines[0]
    return out


def run_case(case: Case, root: Path) -> Outcome:
    """Run one case with inputs fabricated under ``root`` (an empty folder)."""
    files = Files(Path(root))
    return run_cli(case, files) if case.cli else run_api(case, files)
