"""Registry of user-pickable components (methods, estimators, datasets, PID measures).

Components register themselves by name with a decorator; the CLI and the Python API create them
by name. Registration happens when the module defining a component is imported: each kind names
the modules to import before a lookup, so ``list_components("method")`` sees every method
without the caller importing anything.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from infofusion.errors import UnknownComponentError

T = TypeVar("T")

# kind -> modules whose import registers that kind's components
_PROVIDERS: dict[str, tuple[str, ...]] = {
    "method": ("infofusion.methods",),
    "estimator": ("infofusion.measures.mi",),
    "dataset": ("infofusion.data",),
    "pid": ("infofusion.measures.pid",),
    "pid_estimator": ("infofusion.measures.pid",),
}
_REGISTRY: dict[str, dict[str, Any]] = {}
_HELP: dict[str, dict[str, str]] = {}


def register(kind: str, name: str | None = None, help: str | None = None) -> Callable[[T], T]:
    """Class/function decorator registering a component under ``kind`` and ``name``."""

    def deco(obj: T) -> T:
        key = name or getattr(obj, "name", None) or obj.__name__  # type: ignore[attr-defined]
        table = _REGISTRY.setdefault(kind, {})
        if key in table and table[key] is not obj:
            raise ValueError(f"{kind} '{key}' is registered twice")
        table[key] = obj
        doc = help or (obj.__doc__ or "").strip().splitlines()[0:1]
        _HELP.setdefault(kind, {})[key] = doc if isinstance(doc, str) else (doc[0] if doc else "")
        return obj

    return deco


def _load(kind: str) -> dict[str, Any]:
    for mod in _PROVIDERS.get(kind, ()):
        importlib.import_module(mod)
    return _REGISTRY.get(kind, {})


def get(kind: str, name: str) -> Any:
    """The registered object (class or factory) of ``kind`` called ``name``."""
    table = _load(kind)
    if name not in table:
        close = difflib.get_close_matches(name, list(table), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownComponentError(
            f"unknown {kind} '{name}'{hint} (available: {', '.join(sorted(table)) or 'none'})"
        )
    return table[name]


def create(kind: str, name: str, /, **kwargs: Any) -> Any:
    """Instantiate the component ``name`` of ``kind`` with keyword arguments."""
    return get(kind, name)(**kwargs)


def list_components(kind: str) -> list[str]:
    """Sorted names registered under ``kind``."""
    return sorted(_load(kind))


def describe(kind: str) -> dict[str, str]:
    """name -> one-line description for ``kind``."""
    _load(kind)
    return dict(sorted(_HELP.get(kind, {}).items()))
