"""Datasets: the container, built-in data and loaders for the field's formats.

``load_dataset("synthetic:synergy")``, ``load_dataset("mmsa:/path/aligned_50.pkl")``: the part
before the first colon names a registered loader, the rest is its argument (a path or variant).
"""

from __future__ import annotations

import importlib
from typing import Any

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
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

__all__ = ["MultimodalDataset", "load_dataset", "parse_spec"]


def parse_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"name:argument"`` into its parts (the argument may contain further colons)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"dataset spec must be a non-empty string like 'synthetic:synergy', got {spec!r}")
    name, _, arg = spec.partition(":")
    return name.strip(), (arg or None)


def load_dataset(spec: str, **kwargs: Any) -> MultimodalDataset:
    """Load a dataset by spec, e.g. ``"synthetic:synergy"``, ``"uci_mfeat"``, ``"mmsa:PATH"``.

    Raises:
        UnknownComponentError: the loader name is not registered (lists the known ones).
    """
    name, arg = parse_spec(spec)
    loader = get("dataset", name)
    return loader(arg, **kwargs)


def available() -> list[str]:
    return list_components("dataset")
