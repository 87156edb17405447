"""Options of one training run: the single source of their defaults and help texts.

This module imports neither torch nor the rest of the engine, so the CLI can build its
``train``/``bench`` options from :class:`TrainConfig` without loading torch (``--help`` stays
fast). Each field's ``metadata["help"]`` is the help of its command-line option and the line of
the class docstring below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Options of one training run (all recorded with the results).

    Attributes:
    """

    epochs: int = _opt(100, "Maximum epochs (per stage for multi-stage methods).")
    batch_size: int = _opt(128, "Global batch size (split across processes under DDP).")
    lr: float = _opt(1e-3, "AdamW learning rate (a stage multiplies it by its lr_factor).")
    weight_decay: float = _opt(1e-4, "AdamW weight decay (never on biases and norm weights).")
    patience: int = _opt(10, "Early stopping after this many epochs without validation improvement (0: off).")
    seed: int = _opt(0, "Seeds python, numpy and torch; also fixes the shuffling order.")
    metric: str | None = _opt(None, "Validation metric for model selection (default: the protocol's primary).")
    protocol: str | None = _opt(
        None, "Metric protocol: classification, regression, mmsa, magbert, mult, sims "
        "(default: the dataset's, else by task)."
    )
    standardize: bool = _opt(True, "Z-score modalities with statistics of the training split.")
    grad_clip: float | None = _opt(None, "Maximum gradient norm (default: no clipping).")
    checkpoint_dir: str | None = _opt(None, "Write last.pt there after every epoch (one subfolder per seed).")
    resume: bool = _opt(False, "Continue from checkpoint_dir/last.pt if present.")
    device: str = _opt("auto", "auto (CUDA when present), cpu or cuda.")
    progress: bool = _opt(True, "Progress bar on a terminal.")
    eval_batch_size: int = _opt(2048, "Batch size of evaluation passes.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TrainConfig.__doc__ = (TrainConfig.__doc__ or "") + "".join(
    f"\n        {f.name}: {f.metadata['help']}" for f in dataclasses.fields(TrainConfig)
) + "\n"
