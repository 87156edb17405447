"""Parsing of repeatable ``KEY=VALUE`` options shared by the commands (``--set``, ``--opt``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


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


def dataclass_options(
    cls: type, *, exclude: tuple[str, ...] = (), unset: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a typer command one ``--field-name`` option per field of the dataclass ``cls``.

    Defaults, types and help texts come from the dataclass (help from
    ``field(metadata={"help": ...})``), so they are written once. The command takes the
    generated options as ``**kwargs`` (read them with :func:`dataclass_values`); booleans become
    ``--name/--no-name``.

    Args:
        cls: the dataclass (e.g. :class:`~infofusion.training.config.TrainConfig`).
        exclude: fields without an option.
        unset: every option defaults to ``None`` ("not given") and its help ends with this
            note, for commands whose base values are not the dataclass defaults (``bench``).
    """
    import dataclasses
    import inspect
    import typing

    import typer

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in exclude:
                continue
            flag = "--" + f.name.replace("_", "-")
            annotation = hints[f.name]
            decl = f"{flag}/--no-{flag[2:]}" if annotation is bool else flag
            help_ = f.metadata.get("help", "")
            default = f.default
            if unset is not None:
                annotation, help_, default = annotation | None, f"{help_} {unset}", None
            params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                            default=typer.Option(default, decl, help=help_), annotation=annotation))
        func.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return func

    return decorate


def dataclass_values(cls: type, values: dict[str, Any], *, drop_none: bool = False) -> dict[str, Any]:
    """The entries of ``values`` that are fields of ``cls`` (those left ``None`` dropped when
    ``drop_none``)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names and not (drop_none and v is None)}
