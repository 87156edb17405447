"""Reading results files for reports, every malformed input a typed error.

:func:`infofusion.interfaces.read_records` trusts its input (files this package wrote);
:func:`load_records` is for files a user points a command at: a missing file, a folder, bytes
that are not JSON lines, or lines that are not run records end in a
:class:`~infofusion.errors.FormatError` naming the file, the line and what is wrong.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from infofusion.errors import FormatError
from infofusion.interfaces import RunRecord

__all__ = ["load_records"]

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _metric(value: Any, where: str, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FormatError(f"{where}: metric '{key}' is {value!r}, not a number", path=path)
    if isinstance(value, str):
        if value.lower() not in _NON_FINITE:
            raise FormatError(f"{where}: metric '{key}' is {value!r}, not a number", path=path)
        return _NON_FINITE[value.lower()]
    return float(value)


def load_records(path: str | Path) -> list[RunRecord]:
    """Every record of a JSON-lines results file (blank lines skipped).

    Raises:
        FormatError: the file is missing, a folder, not UTF-8 text, holds a line that is not
            JSON, or a line that is not a run record (an object with ``kind`` (string),
            ``config`` (object), ``metrics`` (object of numbers) ...); names file and line.
    """
    p = Path(path)
    if not p.exists():
        raise FormatError("no such results file", path=p)
    if p.is_dir():
        raise FormatError("is a directory; expected a JSON-lines results file (e.g. results.jsonl)", path=p)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FormatError("not a text file (not UTF-8): expected JSON lines of run records", path=p) from None
    except OSError as exc:
        raise FormatError(f"cannot read it: {exc.strerror or exc}", path=p) from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{where} is not JSON ({exc.msg} at column {exc.colno})", path=p) from None
        if not isinstance(data, dict):
            raise FormatError(f"{where} is not a run record (a JSON object), got {type(data).__name__}", path=p)
        missing = [k for k in ("kind", "config") if k not in data]
        if missing:
            raise FormatError(f"{where} is not a run record: missing {', '.join(repr(k) for k in missing)}", path=p)
        if not isinstance(data["kind"], str) or not isinstance(data["config"], dict):
            raise FormatError(f"{where} is not a run record: 'kind' must be a string and 'config' an object", path=p)
        for key in ("metrics", "timings", "versions", "extra", "run"):
            if not isinstance(data.get(key, {}), dict):
                raise FormatError(f"{where}: '{key}' must be an object, got {type(data[key]).__name__}", path=p)
        if data.get("seed") is not None and (isinstance(data["seed"], bool) or not isinstance(data["seed"], int)):
            raise FormatError(f"{where}: 'seed' must be an integer, got {data['seed']!r}", path=p)
        data["metrics"] = {str(k): _metric(v, where, k, p) for k, v in data.get("metrics", {}).items()}
        records.append(RunRecord.from_json(json.dumps(data)))
    if not records:
        raise FormatError("holds no records (empty file)", path=p)
    return records
