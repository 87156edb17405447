"""Options of one training run: the single source of their defaults and help texts.

This module imports neither torch nor the rest of the engine, so the CLI can build its
``train``/``bench`` options from :class:`TrainConfig` without loading torch (``--help`` stays
fast). Each field's ``metadata["help"]`` is the help of its command-line option and the line of
the class docstring below.

Every field is checked when a config is built or changed (``TrainConfig(epochs=0)``,
``dataclasses.replace(cfg, lr=float("nan"))``, ``cfg.batch_size = -4``): its type from the
annotation, its range from the field's :class:`~infofusion.validation.Rule`, through
:func:`infofusion.validation.check_option`. A bad value is a
:class:`~infofusion.errors.ConfigError` naming the field, its command-line option, the value and
what is allowed -- the CLI builds its ``TrainConfig`` from the options, so both share the check.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from infofusion.validation import Rule, check_option, resolve_hints

#: Models with fewer parameters than this train on one CPU thread by default (``threads``).
SMALL_MODEL_PARAMS = 1_000_000
#: Threads of a larger model on CPU by default: ``min(MAX_DEFAULT_THREADS, usable cores)``.
MAX_DEFAULT_THREADS = 4

_DEVICE = r"auto|cpu|mps|cuda(:[0-9]+)?"


def _opt(default: Any, help: str, rule: Rule | None = None) -> Any:
    return field(default=default, metadata={"help": help, "rule": rule})


@dataclass
class TrainConfig:
    """Options of one training run (all recorded with the results).

    Attributes:
    """

    epochs: int = _opt(100, "Maximum epochs (per stage for multi-stage methods).", Rule(min=1))
    batch_size: int = _opt(128, "Global batch size (split across processes under DDP).", Rule(min=1))
    lr: float = _opt(1e-3, "AdamW learning rate (a stage multiplies it by its lr_factor).", Rule(gt=0))
    weight_decay: float = _opt(1e-4, "AdamW weight decay (never on biases and norm weights).", Rule(min=0))
    patience: int = _opt(10, "Early stopping after this many epochs without validation improvement (0: off).", Rule(min=0))
    seed: int = _opt(0, "Seeds python, numpy and torch; also fixes the shuffling order.", Rule(min=0, lt=2**63))
    metric: str | None = _opt(None, "Validation metric for model selection (default: the protocol's primary).", Rule(nonempty=True))
    protocol: str | None = _opt(
        None, "Metric protocol: classification, regression, mmsa, magbert, mult, sims "
        "(default: the dataset's, else by task).",
        Rule(nonempty=True),
    )
    standardize: bool = _opt(True, "Z-score modalities with statistics of the training split.")
    grad_clip: float | None = _opt(None, "Maximum gradient norm (default: no clipping).", Rule(gt=0))
    checkpoint_dir: str | None = _opt(None, "Write last.pt there after every epoch (one subfolder per seed).", Rule(nonempty=True))
    resume: bool = _opt(False, "Continue from checkpoint_dir/last.pt (needs checkpoint_dir; without a checkpoint there the run starts fresh and says so).")
    device: str = _opt("auto", "auto (CUDA when present), cpu, cuda, cuda:N or mps.", Rule(pattern=_DEVICE, describe="auto, cpu, cuda, cuda:N or mps"))
    progress: bool = _opt(True, "Progress bar on a terminal.")
    eval_batch_size: int = _opt(2048, "Batch size of evaluation passes.", Rule(min=1))

    threads: int | None = _opt(
        None, f"CPU threads of torch during training (default: 1 for models under "
        f"{SMALL_MODEL_PARAMS:,} parameters, else min({MAX_DEFAULT_THREADS}, usable cores)).",
        Rule(min=1),
    )

    def __setattr__(self, name: str, value: Any) -> None:
        meta = _FIELDS.get(name)
        if meta is not None:
            if name == "checkpoint_dir" and isinstance(value, os.PathLike):
                value = os.fspath(value)
            check_option("training", name, value, _HINTS.get(name), meta.metadata.get("rule"),
                         flag="--" + name.replace("_", "-"))
        object.__setattr__(self, name, value)

    def __post_init__(self) -> None:
        from infofusion.errors import ConfigError

        if self.resume and not self.checkpoint_dir:
            raise ConfigError("training option 'resume' (--resume) needs checkpoint_dir (--checkpoint-dir): "
                              "the folder holding the run's last.pt")
        # names checked against the metric tables (numpy only); which protocol applies is
        # known with the data, where the trainer checks the pair again
        from infofusion.evaluation.metrics import get_protocol, higher_is_better

        checks = [("protocol", lambda: get_protocol(self.protocol)),
                  ("metric", lambda: higher_is_better(self.metric, self.protocol))]
        for name, check in checks:
            if getattr(self, name) is not None:
                try:
                    check()
                except ConfigError as exc:
                    raise ConfigError(f"training option '{name}' (--{name}): {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cpu_threads(self, n_parameters: int) -> int:
        """Threads torch uses on CPU for a model of ``n_parameters``: ``threads`` when given,
        else 1 below :data:`SMALL_MODEL_PARAMS` parameters (a small model gains nothing from
        more threads, and under CPU contention loses much: synchronising threads that other
        processes pre-empt), else ``min(MAX_DEFAULT_THREADS, usable cores)``."""
        if self.threads is not None:
            return self.threads
        if n_parameters < SMALL_MODEL_PARAMS:
            return 1
        return max(1, min(MAX_DEFAULT_THREADS, usable_cores()))


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_HINTS = resolve_hints(TrainConfig)


TrainConfig.__doc__ = (TrainConfig.__doc__ or "") + "".join(
    f"\n        {f.name}: {f.metadata['help']}" for f in dataclasses.fields(TrainConfig)
) + "\n"
