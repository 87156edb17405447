"""Training engine: one loop for every method (see :mod:`infofusion.training.trainer`)."""

from infofusion.training.trainer import (
    FitResult,
    TrainConfig,
    Trainer,
    build_method,
    fit,
    seed_everything,
)

__all__ = ["FitResult", "TrainConfig", "Trainer", "build_method", "fit", "seed_everything"]
