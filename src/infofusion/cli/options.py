"""Parsing of repeatable ``KEY=VALUE`` options shared by the commands (``--set``, ``--opt``)."""

from __future__ import annotations

import json


def parse_value(text: str) -> object:
    """JSON when valid (numbers, lists, ``true``, ``null``); ``none``/``True`` spelled the Python
    way too; otherwise the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    return text


def parse_options(pairs: list[str] | None) -> dict[str, object]:
    """``["beta=8", 'order=["m1","m2"]', "fusion=early"]`` -> ``{"beta": 8, ...}``.

    Raises:
        ConfigError: an item without ``=`` or with an empty key.
    """
    from infofusion.errors import ConfigError

    out: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"options are given as key=value, got {pair!r}")
        out[key.strip()] = parse_value(value.strip())
    return out
