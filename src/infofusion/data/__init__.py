"""Datasets: the container, built-in data and loaders for the field's formats.

``load_dataset("synthetic:synergy")``, ``load_dataset("mmsa:/path/aligned_50.pkl")``: the part
before the first colon names a registered loader, the rest is its argument (a path or variant).
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError, FormatError
from infofusion.registry import get, list_components

# Modules whose import registers dataset loaders. A module that is missing (not yet written, or
# an optional dependency absent at import) must not break the others.
_LOADER_MODULES = (
    "infofusion.data.synthetic",
    "infofusion.data.builtin",
    "infofusion.data.formats",
)
for _mod in _LOADER_MODULES:
    try:
        importlib.import_module(_mod)
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a module is absent
        if exc.name != _mod:
            raise

__all__ = ["MultimodalDataset", "check_options", "load_dataset", "parse_spec"]


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"name:argument"`` into its parts (the argument may contain further colons)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(
            f"dataset spec must be a non-empty string like 'synthetic:synergy', got {spec!r}"
        )
    name, _, arg = spec.partition(":")
    return name.strip(), (arg or None)


def load_dataset(spec: str, **kwargs: Any) -> MultimodalDataset:
    """Load a dataset by spec, e.g. ``"synthetic:synergy"``, ``"uci_mfeat"``, ``"mmsa:PATH"``.

    Keyword arguments are the loader's options (``fold=2``, ``task="classification"``...).
    They are checked against the loader's signature before it runs: an unknown option, or a
    value of the wrong type (``seed="abc"``), is a :class:`ConfigError` naming the option and
    what is accepted. Lists may be given as comma-separated strings (``modalities="a,b"``).

    Raises:
        UnknownComponentError: the loader name is not registered (lists the known ones).
        ConfigError: an unknown option or a value of the wrong type.
        FormatError: a file cannot be read or is malformed (an ``OSError`` or ``EOFError``
            escaping a loader is reported as one, naming the file).
    """
    name, arg = parse_spec(spec)
    loader = get("dataset", name)
    options = check_options(f"the '{name}' loader", loader, kwargs)
    try:
        return loader(arg, **options)
    except (OSError, EOFError) as exc:  # a file the loader could not read, whatever the format
        path = getattr(exc, "filename", None) or arg
        reason = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
        raise FormatError(f"cannot read ({reason})", path=path) from exc


def available() -> list[str]:
    return list_components("dataset")


def check_options(owner: str, fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` checked against the keyword parameters of ``fn`` (its first parameter, the
    loader's argument, is not an option) and converted where the annotation allows it.

    Unknown names are refused unless ``fn`` takes ``**kwargs`` (it then checks the rest
    itself). Values are checked against simple annotations -- ``int`` (whole floats become
    ints), ``float``, ``str``, ``bool``, ``None`` unions, ``tuple[...]``/``list[...]`` (a
    comma-separated string or any list is accepted) -- and left alone otherwise.

    Raises:
        ConfigError: names the option, the value and what is accepted.
    """
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[1:]
    named = {
        p.name: p
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and not p.name.startswith("_")
    }
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params)
    unknown = [k for k in options if k not in named]
    if unknown and not takes_any:
        raise ConfigError(
            f"unknown option{'s' if len(unknown) > 1 else ''} for {owner}: "
            f"{', '.join(map(repr, unknown))} (accepted: {', '.join(named) or 'none'})"
        )
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an annotation that cannot be evaluated: check names only
        hints = {}
    out = dict(options)
    for key, value in options.items():
        if key in named and key in hints:
            out[key] = _coerce(owner, key, value, hints[key])
    return out


_SCALARS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _coerce(owner: str, key: str, value: Any, hint: Any) -> Any:
    """``value`` as ``hint`` describes it, or a ConfigError; unknown hints pass it through."""
    ok, out = _convert(value, hint)
    if ok:
        return out
    raise ConfigError(f"option {key!r} of {owner} must be {_describe(hint)}, got {value!r:.80}")


def _convert(value: Any, hint: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    if hint is Any or (origin is None and hint not in _SCALARS and hint is not type(None)):
        return True, value
    if origin in (typing.Union, types.UnionType):
        for arm in typing.get_args(hint):
            ok, out = _convert(value, arm)
            if ok:
                return True, out
        return False, None
    if hint is type(None):
        return value is None, None
    if hint is bool:
        return isinstance(value, (bool, np.bool_)), bool(value) if isinstance(
            value, (bool, np.bool_)
        ) else None
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False, None
        if isinstance(value, (float, np.floating)) and not (
            np.isfinite(value) and float(value).is_integer()
        ):
            return False, None
        return True, int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False, None
        return True, float(value)
    if hint is str:
        return isinstance(value, str), value
    if origin in (tuple, list):
        args = typing.get_args(hint)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            return False, None
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                return False, None
            arms = list(args)
        else:
            arms = [args[0] if args else Any] * len(value)
        items = []
        for v, arm in zip(value, arms, strict=True):
            ok, out = _convert(v, arm)
            if not ok:
                return False, None
            items.append(out)
        return True, origin(items)
    return True, value


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    if hint in _SCALARS:
        return _SCALARS[hint]
    if origin in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if origin is tuple and args and Ellipsis not in typing.get_args(hint):
            return f"a list of {len(args)} values ({', '.join(_describe(a) for a in args)})"
        inner = _describe(args[0]) if args else "values"
        return f"a list (or comma-separated string) of {inner.split(' ', 1)[-1]}s"
    return getattr(hint, "__name__", str(hint))
