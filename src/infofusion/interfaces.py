"""Contracts shared by every part of infofusion: protocols and result records.

This module imports nothing from the rest of the package (so no import cycle can form through
it) and does not import torch at runtime, so the CLI can read records without loading torch.

The four contracts:

* **Data** -- :class:`infofusion.data.MultimodalDataset` hands out :class:`Batch` objects.
* **Fusion method** -- a ``FusionMethod`` (``infofusion.methods.base``) whose ``forward(batch)``
  returns a :class:`MethodOutput`; its training hooks are typed methods of that base class,
  listed in the "Method hooks" section of ``docs/architecture.md``.
* **Estimator** -- :class:`MIEstimator`: ``estimate(x, y) -> Estimate`` plus ``parameters()``.
* **Results** -- :class:`RunRecord` (and other records) written as JSON lines.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import json
import math
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

TaskType = Literal["classification", "regression"]
SPLITS: tuple[str, ...] = ("train", "valid", "test")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
@dataclass
class Batch:
    """A minibatch of a multimodal dataset.

    Attributes:
        x: modality name -> tensor, ``(B, D)`` for vectors or ``(B, T, D)`` for padded sequences.
        lengths: modality name -> ``(B,)`` int64 valid lengths, only for sequence modalities.
        y: target, ``(B,)`` int64 class index or ``(B,)`` float score.
        index: ``(B,)`` int64 positions of the samples in the dataset (for per-sample records).
    """

    x: dict[str, torch.Tensor]
    y: torch.Tensor
    index: torch.Tensor
    lengths: dict[str, torch.Tensor] = field(default_factory=dict)

    def mask(self, name: str) -> torch.Tensor | None:
        """``(B, T)`` bool mask of valid positions for a sequence modality, else ``None``."""
        if name not in self.lengths:
            return None
        import torch

        seq = self.x[name]
        steps = torch.arange(seq.shape[1], device=seq.device)
        return steps.unsqueeze(0) < self.lengths[name].to(seq.device).unsqueeze(1)

    def to(self, device: Any) -> Batch:
        return Batch(
            x={k: v.to(device, non_blocking=True) for k, v in self.x.items()},
            y=self.y.to(device, non_blocking=True),
            index=self.index.to(device, non_blocking=True),
            lengths={k: v.to(device, non_blocking=True) for k, v in self.lengths.items()},
        )

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class ModalitySpec:
    """Shape metadata of one modality: feature dim and (for sequences) padded length."""

    name: str
    dim: int
    seq_len: int | None = None

    @property
    def is_sequence(self) -> bool:
        return self.seq_len is not None


@dataclass(frozen=True)
class TaskSpec:
    """What a method must predict: task type, number of classes (1 for regression)."""

    task: TaskType
    n_classes: int
    modalities: tuple[ModalitySpec, ...]

    @property
    def out_dim(self) -> int:
        return self.n_classes if self.task == "classification" else 1

    def modality(self, name: str) -> ModalitySpec:
        for m in self.modalities:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.modalities)


# --------------------------------------------------------------------------------------------
# Fusion methods
# --------------------------------------------------------------------------------------------
@dataclass
class MethodOutput:
    """What a fusion method's ``forward`` returns.

    Attributes:
        prediction: ``(B, C)`` logits for classification, ``(B,)`` scores for regression.
        losses: named loss terms, each a scalar tensor. The trainer minimises
            ``sum(weights.get(name, 1) * term)``. The task loss is conventionally ``"task"``.
        diagnostics: per-sample tensors with first dimension ``B`` (latents, gates, weights, KLs)
            or scalars; recorded by evaluation, never used for optimisation.
        unimodal: modality name -> that modality's own prediction (same layout as
            ``prediction``), for methods with unimodal branches; used for per-modality accuracy.
    """

    prediction: torch.Tensor
    losses: dict[str, torch.Tensor] = field(default_factory=dict)
    diagnostics: dict[str, torch.Tensor] = field(default_factory=dict)
    unimodal: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class StageSpec:
    """One stage of a multi-stage method, as declared by ``FusionMethod.stages()``.

    At the start of each stage the engine makes exactly the parameters of ``train`` trainable,
    calls ``on_stage_start``, re-wraps the method for DDP and builds a fresh optimiser with
    learning rate ``lr * lr_factor``; at its end it restores the weights selected on
    ``metric`` (see the "Method hooks" section of ``docs/architecture.md``).

    Attributes:
        name: the stage's name (shown in history rows and progress).
        max_epochs: epoch budget of the stage (default: the run's ``epochs``).
        select_on_valid: keep the weights of the stage's best validation epoch (False: keep
            the last epoch's weights).
        metric: validation metric selecting the stage's weights, e.g. ``"m1/accuracy"`` for a
            stage that trains the ``m1`` branch (keys as in ``evaluation.metrics``; default: the
            run's selection metric).
        lr_factor: the stage's learning rate is ``config.lr * lr_factor``.
        train: names of ``parameter_groups()`` trained in this stage, every other parameter
            frozen; ``None`` restores what the method left trainable at fit start (all
            parameters unless the method froze some at construction).
    """

    name: str
    max_epochs: int | None = None
    select_on_valid: bool = True
    metric: str | None = None
    lr_factor: float = 1.0
    train: tuple[str, ...] | None = None


# --------------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------------
@dataclass
class Estimate:
    """An estimated information quantity with its uncertainty.

    Attributes:
        value: point estimate (in ``unit``).
        stderr: standard error, if the estimator provides one.
        ci: ``(low, high)`` confidence interval at ``ci_level``, if provided.
        unit: ``"nats"`` or ``"bits"`` (``"distance"`` for measures in metric units, such as
            the Wasserstein dependency measure, which do not convert to bits).
        estimator: registry name of the estimator.
        params: the typed parameters used, as a plain dict (saved with every result).
        n: number of samples the value was computed on (held-out samples for neural bounds).
        seconds: wall time of the estimate.
        extra: estimator-specific details (training curve length, chosen k, ...).
    """

    value: float
    stderr: float | None = None
    ci: tuple[float, float] | None = None
    ci_level: float = 0.95
    unit: str = "nats"
    estimator: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    n: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def to_bits(self) -> Estimate:
        if self.unit == "bits":
            return self
        if self.unit != "nats":
            raise ValueError(f"an estimate in {self.unit} units cannot be converted to bits")
        f = 1.0 / math.log(2.0)
        return dataclasses.replace(
            self,
            value=self.value * f,
            stderr=None if self.stderr is None else self.stderr * f,
            ci=None if self.ci is None else (self.ci[0] * f, self.ci[1] * f),
            unit="bits",
        )

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


@runtime_checkable
class MIEstimator(Protocol):
    """Mutual-information estimator: ``estimate(x, y) -> Estimate`` in nats.

    ``x`` and ``y`` are arrays of shape ``(N, Dx)`` and ``(N, Dy)`` (1-d input is read as one
    column). Conditional estimators also accept ``z=``.
    """

    name: str

    def estimate(self, x: np.ndarray, y: np.ndarray) -> Estimate: ...

    def parameters(self) -> Any: ...


# --------------------------------------------------------------------------------------------
# Result records
# --------------------------------------------------------------------------------------------
def _jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars, tuples, paths and dataclasses into JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "item") and getattr(obj, "ndim", 0) == 0:
        return _jsonable(obj.item())
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    return str(obj)


# --------------------------------------------------------------------------------------------
# Run identity: which invocation produced a record
# --------------------------------------------------------------------------------------------
_ACTIVE_RUN: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "infofusion_run", default=None
)


def new_run_id() -> str:
    """A sortable, unique run id: local start time plus 6 random hex digits
    (``20250101-120000-a1b2c3``)."""
    import uuid

    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout this package runs from; (None, None) when it is not
    run from a git checkout (an installed wheel) or git is unavailable."""
    import subprocess
    from pathlib import Path

    here = Path(__file__).resolve()

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", "-C", str(here.parent), *args], capture_output=True,
                                 text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    # the package must be this checkout's own source, not a copy installed inside it
    if not top or (Path(top) / "src" / "infofusion" / here.name).resolve() != here:
        return None, None
    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, None if status is None else bool(status)


def _command_line() -> str:
    import shlex
    import sys
    from pathlib import Path

    argv = list(sys.argv) or ["python"]
    return shlex.join([Path(argv[0]).name or "python", *argv[1:]])


def run_info(run_id: str | None = None) -> dict[str, Any]:
    """The identity of one run: ``id``, ``started`` (UTC, ISO 8601), ``command`` (the command
    line), ``git_commit`` / ``git_dirty`` (None outside a git checkout) and the ``infofusion``
    version."""
    import sys

    commit, dirty = _git_state()
    return {
        "id": run_id or new_run_id(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": _command_line(),
        "git_commit": commit,
        "git_dirty": dirty,
        "infofusion": getattr(sys.modules.get("infofusion"), "__version__", "unknown"),
    }


@contextmanager
def run_scope(run_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Make every :class:`RunRecord` created inside carry one run identity.

    ``api.train`` and ``api.bench`` open one per call (a bench's trainings share the bench's);
    a scope opened inside another one without ``run_id`` is the outer run.
    """
    active = _ACTIVE_RUN.get()
    if active is not None and run_id in (None, active["id"]):
        yield active
        return
    token = _ACTIVE_RUN.set(run_info(run_id))
    try:
        yield _ACTIVE_RUN.get()  # type: ignore[misc]
    finally:
        _ACTIVE_RUN.reset(token)


def current_run() -> dict[str, Any]:
    """The active run's identity (:func:`run_scope`), else a new one: a record made outside any
    scope (``mi``, ``analyze``) is its own run. Every :class:`RunRecord` gets it on creation."""
    active = _ACTIVE_RUN.get()
    return dict(active) if active is not None else run_info()


@dataclass
class RunRecord:
    """One run (one method, one dataset, one seed): written as one JSON line.

    Attributes:
        kind: what produced it (``"train"``, ``"mi"``, ``"pid"``, ``"bench"`` ...).
        config: everything needed to reproduce the run.
        seed: the random seed.
        metrics: split-qualified metric values, e.g. ``{"test/accuracy": 0.97}``.
        timings: seconds, e.g. ``{"fit": 12.3, "epoch_mean": 0.4}``.
        versions: package versions (infofusion, torch, numpy, python).
        extra: anything else (chosen epoch, modality order, per-modality results).
        run: the invocation that produced it (:func:`run_info`: id, start time, command line,
            git commit, version); set on creation from :func:`current_run`, so every record
            of every command carries it. Records read from files written before it existed
            have ``{}``.
    """

    kind: str
    config: dict[str, Any]
    seed: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    run: dict[str, Any] = field(default_factory=current_run)

    def to_json(self) -> str:
        return json.dumps(_jsonable(dataclasses.asdict(self)), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> RunRecord:
        data = json.loads(line)
        names = {f.name for f in dataclasses.fields(cls)}
        data.setdefault("run", {})  # never stamp an old record with the reader's run
        return cls(**{k: v for k, v in data.items() if k in names})


def write_records(path: Any, records: Iterable[RunRecord], append: bool = True) -> None:
    """Append (or write) records to a JSON-lines file, creating parent folders."""
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a" if append else "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(r.to_json() + "\n")


def read_records(path: Any) -> list[RunRecord]:
    """Read every record of a JSON-lines file (blank lines skipped)."""
    from pathlib import Path

    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(RunRecord.from_json(line))
    return out
