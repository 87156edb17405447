"""Checks of option values against their type annotation and a declared range.

One mechanism serves every option table of the package: the fields of
:class:`~infofusion.training.config.TrainConfig` and the constructor options of every fusion
method. The *type* comes from the annotation that is already written (``int``, ``float``,
``str | None``, ``Literal["a", "b"]``, ``list[str] | None``), the *range* from a small
declarative :class:`Rule` (``Rule(min=1)``, ``Rule(gt=0)``, ``Rule(min=0, lt=1)``,
``Rule(choices=(...))``). A value that does not fit is a
:class:`~infofusion.errors.ConfigError` naming the option, the value and what is allowed::

    >>> check_option("method 'joint'", "hidden", "abc", int, Rule(min=1))
    Traceback (most recent call last):
    ...
    infofusion.errors.ConfigError: method 'joint' option 'hidden'='abc' is invalid: expected an integer >= 1

Annotations this module cannot read (``Any``, classes, callables) accept any value: the
constructor that receives it stays responsible for it. Floats must be finite unless the rule
says ``finite=False``. This module imports neither torch nor numpy at import time.
"""

from __future__ import annotations

import math
import numbers
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infofusion.errors import ConfigError

__all__ = ["Rule", "check_option", "describe_annotation", "resolve_hints"]


@dataclass(frozen=True)
class Rule:
    """The range of one option (its type comes from the annotation).

    Attributes:
        min / max: inclusive bounds (numbers).
        gt / lt: exclusive bounds (numbers).
        choices: the allowed values (strings, numbers).
        pattern: a regular expression a string must match in full (``describe`` says it in
            words).
        finite: numbers must be finite (default True: ``nan`` and ``inf`` are refused).
        nonempty: a string or list must not be empty.
        describe: what is allowed, in words, when the bounds alone would not say it.
    """

    min: float | None = None
    max: float | None = None
    gt: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] | None = None
    pattern: str | None = None
    finite: bool = True
    nonempty: bool = False
    describe: str | None = None

    def bounds(self) -> str:
        def num(x: float) -> str:
            return str(int(x)) if float(x).is_integer() else f"{x:g}"

        parts = []
        for op, bound in ((">", self.gt), (">=", self.min), ("<", self.lt), ("<=", self.max)):
            if bound is not None:
                parts.append(f"{op} {num(bound)}")
        return " and ".join(parts)

    def violation(self, value: Any) -> bool:
        """True when ``value`` (already of the right type) is out of range; the bounds of a
        list apply to each of its numbers."""
        if isinstance(value, (list, tuple)) and any(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and self.violation(v) for v in value
        ):
            return True
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            v = float(value)
            if self.finite and not math.isfinite(v):
                return True
            if (self.min is not None and not v >= self.min) or (self.max is not None and not v <= self.max):
                return True
            if (self.gt is not None and not v > self.gt) or (self.lt is not None and not v < self.lt):
                return True
        if self.choices is not None and value is not None and value not in self.choices:
            return True
        if self.pattern is not None and isinstance(value, str) and not re.fullmatch(self.pattern, value):
            return True
        if self.nonempty and isinstance(value, (str, list, tuple)) and len(value) == 0:
            return True
        return False


def resolve_hints(func: Any) -> dict[str, Any]:
    """Annotations of ``func`` (a function or a class) with string annotations evaluated; an
    annotation that cannot be evaluated is left out (its option accepts any value)."""
    try:
        return typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - a name only imported under TYPE_CHECKING, say
        raw = getattr(func, "__annotations__", {}) or {}
        glob = getattr(func, "__globals__", None) or vars(__import__(func.__module__, fromlist=["_"]))
        out = {}
        for name, ann in raw.items():
            try:
                out[name] = eval(ann, glob) if isinstance(ann, str) else ann  # noqa: S307 - our own source
            except Exception:  # noqa: BLE001
                continue
        return out


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fits(value: Any, annotation: Any) -> bool | None:
    """Whether ``value`` has the annotated type; None when the annotation is not one this
    module reads (then any value is accepted)."""
    if annotation is Any or annotation is object:
        return None
    if annotation is None or annotation is type(None):
        return value is None
    if _is_union(annotation):
        results = [_fits(value, a) for a in _args(annotation)]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return value in _args(annotation) and not (isinstance(value, bool) and not any(
            isinstance(a, bool) for a in _args(annotation)))
    if annotation is bool:
        return isinstance(value, bool) or (type(value).__name__ == "bool_")
    if annotation is int:
        return _is_int(value)
    if annotation is float:
        return _is_number(value)
    if annotation is str:
        return isinstance(value, str)
    if origin in (list, tuple, Sequence, typing.Sequence) or annotation in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            return False
        inner = _args(annotation)
        if not inner or (origin is tuple and len(inner) != 2 and Ellipsis not in inner):
            return True if not inner else None
        item = inner[0]
        checks = [_fits(v, item) for v in value]
        if any(c is False for c in checks):
            return False
        return True
    return None


def describe_annotation(annotation: Any) -> str:
    """In words: ``int`` -> "an integer", ``str | None`` -> "a string or none"."""
    if _is_union(annotation):
        parts = [describe_annotation(a) for a in _args(annotation) if a is not type(None)]
        if type(None) in _args(annotation):
            parts.append("none")
        return " or ".join(dict.fromkeys(parts))
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in _args(annotation))
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if annotation in names:
        return names[annotation]
    if origin in (list, tuple, Sequence, typing.Sequence) or annotation in (list, tuple):
        inner = _args(annotation)
        if inner and inner[0] in names:
            return "a list of " + {bool: "true/false values", int: "integers", float: "numbers",
                                   str: "strings"}[inner[0]]
        return "a list"
    return getattr(annotation, "__name__", str(annotation))


def _allowed(annotation: Any, rule: Rule | None) -> str:
    if rule is not None and rule.describe:
        return rule.describe
    if rule is not None and rule.choices is not None:
        return "one of " + ", ".join(repr(c) for c in rule.choices)
    kind = describe_annotation(annotation) if annotation is not None else "a value"
    if rule is not None:
        bounds = rule.bounds()
        if bounds:
            kind = kind.replace("an integer", f"an integer {bounds}", 1).replace(
                "a number", f"a {'finite ' if rule.finite else ''}number {bounds}", 1)
        elif rule.finite and "a number" in kind:
            kind = kind.replace("a number", "a finite number", 1)
        if rule.nonempty:
            kind = kind.replace("a string", "a non-empty string", 1).replace("a list", "a non-empty list", 1)
    elif "a number" in kind:
        kind = kind.replace("a number", "a finite number", 1)
    return kind


def check_option(owner: str, name: str, value: Any, annotation: Any = None, rule: Rule | None = None,
                 *, flag: str | None = None) -> None:  # fmt: skip
    """Check one option value.

    Args:
        owner: who the option belongs to, for the message (``"method 'joint'"``, ``"training"``).
        name: the option's name.
        value: the value given.
        annotation: the option's type annotation (None: no type check).
        rule: its range (None: none beyond the type; floats must still be finite).
        flag: the command-line spelling, added to the message (``"--lr"``).

    Raises:
        ConfigError: ``<owner> option '<name>'=<value> is invalid: expected <what is allowed>``.
    """
    fits = True if annotation is None else _fits(value, annotation)
    bad = fits is False
    if not bad and value is not None and not isinstance(value, bool):
        if rule is not None:
            bad = rule.violation(value)
        elif _is_number(value) and not math.isfinite(float(value)):
            bad = True
        elif isinstance(value, (list, tuple)) and any(
            _is_number(v) and not isinstance(v, bool) and not math.isfinite(float(v)) for v in value
        ):
            bad = True
    if bad:
        where = f" ({flag})" if flag else ""
        raise ConfigError(
            f"{owner} option '{name}'{where}={value!r} is invalid: expected {_allowed(annotation, rule)}"
        )
