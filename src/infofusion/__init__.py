"""infofusion: information-theoretic multimodal learning.

Measure (mutual information, partial information decomposition), learn (information-theoretic
fusion methods beside their baselines on one training engine) and compare (reproducible
benchmarks and reports).

Submodules are imported lazily so that ``import infofusion`` (and the CLI's ``--help``) stays
fast; ``infofusion.train``, ``infofusion.estimate_mi`` etc. load what they need on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> "module:attribute"
_LAZY = {
    "MultimodalDataset": "infofusion.data.dataset:MultimodalDataset",
    "load_dataset": "infofusion.data:load_dataset",
    "train": "infofusion.api:train",
    "bench": "infofusion.api:bench",
    "estimate_mi": "infofusion.api:estimate_mi",
    "analyze": "infofusion.api:analyze",
    "recommend": "infofusion.api:recommend",
    "load": "infofusion.trained:load",
    "create": "infofusion.registry:create",
    "list_components": "infofusion.registry:list_components",
}

__all__ = ["__version__", *_LAZY]


def __dir__() -> list[str]:
    """The public API (including the names imported on first use) and the module dunders;
    helpers of this file (``importlib``, ``Any``...) are left out."""
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        mod, attr = _LAZY[name].split(":")
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'infofusion' has no attribute '{name}'")
