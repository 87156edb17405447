"""Training engine: one loop for every method (see :mod:`infofusion.training.trainer`).

:class:`TrainConfig` lives in the torch-free :mod:`infofusion.training.config`; the rest loads
torch, so it is imported on first use (``from infofusion.training import fit`` works as usual,
and the CLI can read ``TrainConfig`` without importing torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infofusion.training.config import TrainConfig

if TYPE_CHECKING:  # pragma: no cover
    from infofusion.training.trainer import (
        FitResult,
        StageResult,
        Trainer,
        build_method,
        fit,
        seed_everything,
    )

__all__ = ["FitResult", "StageResult", "TrainConfig", "Trainer", "build_method", "fit", "seed_everything"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from infofusion.training import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'infofusion.training' has no attribute '{name}'")
