"""The training engine: a plain PyTorch loop that the whole library shares.

In-memory feature data is batched by tensor indexing; model selection and early stopping use the
validation split only (:class:`~infofusion.training.auxiliary.EarlyStopping`); a checkpoint is
written after every epoch (atomically) so ``resume=True`` continues a killed run to the same
result; seeds make runs repeatable; DistributedDataParallel is used when launched by
``torchrun``. Method-specific behaviour (stages, freezing, epoch-level updates, gradient
modulation, per-sample state) comes from the typed hooks of
:class:`~infofusion.methods.base.FusionMethod`, never from special cases here.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, MethodOutput, StageSpec
from infofusion.methods.base import FusionMethod
from infofusion.training import distributed as dist_utils
from infofusion.training.auxiliary import EarlyStopping
from infofusion.training.config import TrainConfig

__all__ = ["FitResult", "StageResult", "TrainConfig", "Trainer", "build_method", "fit", "seed_everything"]


@dataclass
class StageResult:
    """How one stage ended: the metric that selected its weights and the selected epoch.

    Attributes:
        name: the stage's name.
        metric: validation metric that selected the stage's weights (``None``: no selection,
            the last epoch's weights were kept).
        best_epoch: epoch (within the stage) of the kept weights.
        best_score: validation ``metric`` of the kept weights (``None`` without selection).
        epochs: epochs run in the stage.
    """

    name: str
    metric: str | None
    best_epoch: int
    best_score: float | None
    epochs: int


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes:
        method: the trained method with the selected (best-validation) weights, in eval mode.
        metrics: ``"<split>/<metric>"`` -> value for every available split, plus
            ``"<split>/<modality>/<metric>"`` for methods with unimodal branches.
        best_epoch: epoch of the selected weights (last stage).
        history: one dict per epoch: stage, epoch, mean of each loss term, validation metrics,
            seconds.
        timings: ``fit`` (total seconds), ``train_epoch_mean`` (seconds per training epoch).
        config: the training config used.
        selection_metric: the validation metric that selected the final weights (last stage).
        data: the (standardised) dataset the method was trained on.
        test_outputs: :meth:`Trainer.predict` on the test split (``prediction``, ``unimodal``,
            ``diagnostics``, ``y``, ``index``), or None without a test split.
        stages: one :class:`StageResult` per stage, in order.
        selected_on: ``"valid"`` when the final weights were selected on the validation split,
            None when the last epoch's weights were kept (no validation split, or a last stage
            that does not select).
        threads: CPU threads torch used during the fit (None on an accelerator).
    """

    method: nn.Module
    metrics: dict[str, float]
    best_epoch: int
    history: list[dict[str, Any]]
    timings: dict[str, float]
    config: TrainConfig
    selection_metric: str
    data: MultimodalDataset | None = field(default=None, repr=False)
    test_outputs: dict[str, Any] | None = field(default=None, repr=False)
    stages: list[StageResult] = field(default_factory=list)
    selected_on: str | None = None
    threads: int | None = None


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", 0))
            return torch.device("cuda", local % torch.cuda.device_count())
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device '{name}' requested but CUDA is not available")
    return torch.device(name)


def _shared_seed(seed: int) -> int:
    """Seed of the shared stream: fixed by the run's seed, distinct from the shuffling stream."""
    return (seed * 0x9E3779B1 + 0x5EED) % (2**63)


class Trainer:
    """Runs the loop for one method on one dataset (see :func:`fit`).

    Hooks receive the trainer and may use:

    * ``trainer.data`` (the standardised dataset), ``trainer.method`` (the bare method, not the
      DDP wrapper), ``trainer.model`` (what the loop calls: the DDP wrapper under DDP),
      ``trainer.optimizer``, ``trainer.config``, ``trainer.device``, ``trainer.rank``,
      ``trainer.world``, ``trainer.stage`` (:class:`StageSpec`), ``trainer.epoch``;
    * ``trainer.predict(split)`` and ``trainer.evaluate(split)`` (every process runs them on
      the whole split, so their results agree across processes);
    * ``trainer.all_reduce(stats, op)``: reduce per-process statistics to global ones;
    * ``trainer.shared_generator``: a random stream that is the same on every process (for
      gradient noise), saved in checkpoints; separate from the shuffling stream.

    ``callbacks`` (:class:`~infofusion.training.callbacks.Callback`) are analyses a user switches
    on for any method (e.g. the information plane); each runs after the method's hook of the
    same name, and what its ``on_epoch_end`` returns joins the epoch's history row.
    """

    def __init__(
        self, method: FusionMethod, data: MultimodalDataset, config: TrainConfig, callbacks: Sequence[Any] = ()
    ) -> None:
        self.callbacks = list(callbacks)
        if not isinstance(method, FusionMethod):
            raise ConfigError(
                f"the trainer trains FusionMethod subclasses (infofusion.methods.base), got {type(method).__name__}"
            )
        self.config = config
        self.data = data
        self.method = method
        self.device = resolve_device(config.device)
        self.method.to(self.device)
        self.rank, self.world = dist_utils.rank_and_world()
        #: what the loop calls: the method, or its DDP wrapper once a stage has started
        self.model: nn.Module = self.method
        self.protocol = config.protocol or data.info.get("protocol") or (
            "classification" if data.task == "classification" else "regression"
        )
        from infofusion.evaluation.metrics import higher_is_better, primary_metric

        self.selection_metric = config.metric or primary_metric(data.task, self.protocol)
        higher_is_better(self.selection_metric, self.protocol)  # an unknown metric fails here
        self.has_valid = data.has_split("valid")
        self.optimizer: torch.optim.Optimizer | None = None
        self.epoch = 0
        self.stage: StageSpec = StageSpec("main")
        self.history: list[dict[str, Any]] = []
        self.stage_results: list[StageResult] = []
        self.generator = torch.Generator().manual_seed(config.seed)
        self.shared_generator = torch.Generator().manual_seed(_shared_seed(config.seed))
        self._fit_start_trainable: dict[str, bool] = {}
        self._identity: dict[str, Any] | None = None

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, stats: dict[str, torch.Tensor], op: str = "sum") -> dict[str, torch.Tensor]:
        """Reduce per-process statistics across processes (identity in one process).

        Every process must call it at the same point with the same keys, e.g. in
        ``after_backward`` to turn this process's batch sums into global-batch sums.

        Args:
            stats: name -> tensor on ``trainer.device``.
            op: ``sum``, ``mean``, ``max`` or ``min``.
        """
        return dist_utils.all_reduce(stats, op)

    # ------------------------------------------------------------------ stages
    def _stages(self) -> list[StageSpec]:
        name = self.method.name
        stages = list(self.method.stages()) or [StageSpec("main")]
        seen: set[str] = set()
        for st in stages:
            if not isinstance(st, StageSpec):
                raise ConfigError(f"method '{name}': stages() must return StageSpec objects, got {st!r}")
            if st.name in seen:
                raise ConfigError(f"method '{name}' declares stage '{st.name}' twice")
            seen.add(st.name)
            if st.max_epochs is not None and st.max_epochs < 1:
                raise ConfigError(f"method '{name}' stage '{st.name}': max_epochs must be >= 1, got {st.max_epochs}")
            if not st.lr_factor > 0:
                raise ConfigError(f"method '{name}' stage '{st.name}': lr_factor must be > 0, got {st.lr_factor}")
        return stages

    def _group_parameters(self, stages: list[StageSpec]) -> dict[str, set[int]]:
        """Group name -> ids of its parameters; checks every name the stages train."""
        name = self.method.name
        owned = {id(p) for p in self.method.parameters()}
        groups: dict[str, set[int]] = {}
        for group, parts in self.method.parameter_groups().items():
            if isinstance(parts, nn.Module | nn.Parameter):
                parts = [parts]
            ids: set[int] = set()
            for part in parts:
                params = [part] if isinstance(part, nn.Parameter) else list(part.parameters())
                for p in params:
                    if id(p) not in owned:
                        raise ConfigError(f"method '{name}': parameter group '{group}' holds a parameter the method does not own")
                    ids.add(id(p))
            groups[group] = ids
        for st in stages:
            for group in st.train or ():
                if group not in groups:
                    raise ConfigError(
                        f"method '{name}' stage '{st.name}' trains unknown parameter group '{group}' "
                        f"(parameter_groups(): {', '.join(groups) or 'none'})"
                    )
        return groups

    def _apply_trainable(self, stage: StageSpec, groups: dict[str, set[int]]) -> None:
        if stage.train is None:
            for n, p in self.method.named_parameters():
                p.requires_grad_(self._fit_start_trainable.get(n, True))
            return
        chosen = set().union(*(groups[g] for g in stage.train)) if stage.train else set()
        for p in self.method.parameters():
            p.requires_grad_(id(p) in chosen)

    def _start_stage(self, stage: StageSpec, groups: dict[str, set[int]], n_stages: int) -> None:
        """Freeze/unfreeze from the declaration, call the hook, wrap for DDP, new optimiser."""
        self.stage = stage
        self._apply_trainable(stage, groups)
        self.method.on_stage_start(stage, self)
        self.model = self.method  # drop the previous wrapper (and its gradient hooks) first
        find_unused = self.method.ddp_find_unused_parameters
        self.model = dist_utils.wrap(self.method, self.device, n_stages > 1 if find_unused is None else find_unused)
        self.optimizer = self.make_optimizer()

    # ------------------------------------------------------------------ building blocks
    def make_optimizer(self) -> torch.optim.Optimizer:
        """The stage's optimiser over trainable parameters: the method's
        ``configure_optimizer``, or AdamW with lr ``config.lr * stage.lr_factor`` (no weight
        decay on biases and norm weights)."""
        decay, no_decay = [], []
        for p in self.method.parameters():
            if p.requires_grad:
                (no_decay if p.ndim <= 1 else decay).append(p)
        if not decay and not no_decay:
            raise ConfigError(f"method '{self.method.name}' stage '{self.stage.name}' trains no parameter")
        groups = [
            {"params": decay, "weight_decay": self.config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        groups = [g for g in groups if g["params"]]
        lr = self.config.lr * self.stage.lr_factor
        custom = self.method.configure_optimizer(groups, lr, self)
        if custom is not None:
            return custom
        # foreach: one fused kernel call per op over all tensors instead of a Python loop per tensor
        return torch.optim.AdamW(groups, lr=lr, foreach=True)

    def loss_of(self, out: MethodOutput) -> torch.Tensor:
        weights = self.method.loss_weights()
        total = None
        for name, term in out.losses.items():
            w = weights.get(name, 1.0)
            if w == 0:
                continue
            total = term * w if total is None else total + term * w
        if total is None:
            raise ConfigError(f"method '{self.method.name}' returned no loss terms")
        return total

    def _train_batches(self) -> Iterator[Batch]:
        """This process's share of each global batch (same global order on every process)."""
        idx = self.data.indices("train")
        perm = idx[torch.randperm(len(idx), generator=self.generator)]
        bs = self.config.batch_size
        for start in range(0, len(perm), bs):
            chunk = perm[start : start + bs]
            if self.world > 1:
                if len(chunk) < self.world:
                    continue  # every process skips it: one of them would have no sample
                chunk = chunk.tensor_split(self.world)[self.rank]
            yield self.data.batch(chunk).to(self.device)

    def train_epoch(self) -> dict[str, float]:
        self.model.train()
        sums: dict[str, torch.Tensor] = {}
        n_batches = 0
        for batch in self._train_batches():
            out: MethodOutput = self.model(batch)
            loss = self.loss_of(out)
            self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
            loss.backward()
            self.method.after_backward(self, batch, out)
            if self.config.grad_clip:
                nn.utils.clip_grad_norm_(self.method.parameters(), self.config.grad_clip)
            self.optimizer.step()  # type: ignore[union-attr]
            # accumulate detached tensors; one sync per epoch instead of one per batch
            sums["loss"] = sums.get("loss", 0) + loss.detach()
            for k, v in out.losses.items():
                sums[f"loss/{k}"] = sums.get(f"loss/{k}", 0) + v.detach()
            n_batches += 1
        sums = dist_utils.average_across_processes(sums)
        if not math.isfinite(float(sums.get("loss", 0.0))):
            raise FloatingPointError(
                f"training loss became non-finite at epoch {self.epoch} (lower the learning rate "
                "or enable grad_clip)"
            )
        return {k: float(v) / max(n_batches, 1) for k, v in sums.items()}

    @torch.no_grad()
    def predict(self, split: str, indices: torch.Tensor | None = None) -> dict[str, Any]:
        """Outputs on a split (eval mode; the previous mode is restored): ``prediction``,
        ``unimodal`` (dict), ``diagnostics`` (dict), ``y`` and ``index`` (dataset positions,
        what ``batch.index`` holds) as numpy arrays, concatenated over batches."""
        was_training = self.method.training
        self.method.eval()
        preds, ys, idxs = [], [], []
        uni: dict[str, list[torch.Tensor]] = {}
        diag: dict[str, list[torch.Tensor]] = {}
        try:
            for batch in self.data.batches(split, self.config.eval_batch_size, indices=indices):
                batch = batch.to(self.device)
                out: MethodOutput = self.method(batch)
                preds.append(out.prediction.float().cpu())
                ys.append(batch.y.cpu())
                idxs.append(batch.index.cpu())
                for k, v in out.unimodal.items():
                    uni.setdefault(k, []).append(v.float().cpu())
                for k, v in out.diagnostics.items():
                    if v.ndim >= 1 and v.shape[0] == len(batch):
                        diag.setdefault(k, []).append(v.float().cpu())
        finally:
            self.method.train(was_training)
        return {
            "prediction": torch.cat(preds).numpy(),
            "y": torch.cat(ys).numpy(),
            "index": torch.cat(idxs).numpy(),
            "unimodal": {k: torch.cat(v).numpy() for k, v in uni.items()},
            "diagnostics": {k: torch.cat(v).numpy() for k, v in diag.items()},
        }

    def evaluate(self, split: str, only: Collection[str] | None = None) -> dict[str, float]:
        """Metrics of the current weights on ``split`` (fused and per modality).

        ``only`` limits the work to these metric names (``"accuracy"``, ``"m1/accuracy"``,
        ``"synergy_branches"``); the loop asks only for its selection metric every epoch.
        """
        return self.metrics_of(self.predict(split), only)

    def metrics_of(self, out: dict[str, Any], only: Collection[str] | None = None) -> dict[str, float]:
        """Metrics of :meth:`predict` outputs: the protocol's metrics, each unimodal branch's,
        and for classifiers with branches the synergy indicator against those branches (share
        of samples the fused prediction gets right while every branch errs). ``only``: as for
        :meth:`evaluate`."""
        from infofusion.evaluation.metrics import compute_metrics, per_modality_metrics

        base = None if only is None else {m.rsplit("/", 1)[-1] for m in only}
        kw = dict(task=self.data.task, protocol=self.protocol, n_classes=self.data.n_classes, only=base)
        metrics = compute_metrics(out["y"], out["prediction"], **kw)
        if out["unimodal"] and self.method.multimodal:
            if only is None or any("/" in m for m in only):
                metrics.update(per_modality_metrics(out["y"], out["unimodal"], **kw))
            if self.data.task == "classification" and (only is None or "synergy_branches" in only):
                from infofusion.evaluation.synergy import synergy_indicator

                syn = synergy_indicator(out["y"], out["prediction"], out["unimodal"], "branches")
                metrics["synergy_branches"] = syn["synergy"]
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def _ckpt_path(self) -> Path | None:
        if not self.config.checkpoint_dir:
            return None
        return Path(self.config.checkpoint_dir) / "last.pt"

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        path = self._ckpt_path()
        if path is None or self.rank != 0:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)  # atomic: a kill never leaves a half-written checkpoint

    def identity(self) -> dict[str, Any]:
        """What this run's checkpoints belong to (:func:`~infofusion.training.checkpoint.run_identity`)."""
        from infofusion.training.checkpoint import run_identity

        if self._identity is None:
            self._identity = run_identity(self.method, self.data, self.config)
        return self._identity

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint to resume from, checked to belong to this run; None to start fresh
        (:func:`~infofusion.training.checkpoint.resume_state`)."""
        from infofusion.training.checkpoint import resume_state

        return resume_state(self._ckpt_path(), self.config.resume, self.identity, warn=self.rank == 0)

    # ------------------------------------------------------------------ the loop
    def _selection_score(self, valid: dict[str, float], metric: str) -> float:
        if metric not in valid:
            valid = self.evaluate("valid")  # every metric, to name the available ones
        if metric not in valid:
            raise ConfigError(
                f"method '{self.method.name}' stage '{self.stage.name}' selects on validation metric "
                f"'{metric}', which its evaluation does not produce (available: {', '.join(sorted(valid))})"
            )
        return valid[metric]

    def fit(self) -> FitResult:
        """Train, select, evaluate every split (see :func:`fit`). On CPU, torch runs with
        ``config.cpu_threads(n_parameters)`` threads for the duration (restored afterwards)."""
        if self.device.type != "cpu":
            return self._fit()
        threads = self.config.cpu_threads(sum(p.numel() for p in self.method.parameters()))
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            result = self._fit()
        finally:
            torch.set_num_threads(before)
        result.threads = threads
        return result

    def _fit(self) -> FitResult:
        from infofusion.evaluation.metrics import higher_is_better
        from infofusion.progress import Progress

        t0 = time.perf_counter()
        cfg = self.config
        stages = self._stages()
        start_stage, start_epoch = 0, 0
        train_seconds: list[float] = []

        ckpt = self.load_checkpoint()
        self.method.on_fit_start(self)  # before restoring: hooks may build parts the checkpoint fills
        for cb in self.callbacks:
            cb.on_fit_start(self)
        self._fit_start_trainable = {n: p.requires_grad for n, p in self.method.named_parameters()}
        groups = self._group_parameters(stages)
        if ckpt is not None:
            self._restore(ckpt["model"])
            start_stage, start_epoch = int(ckpt["stage"]), int(ckpt["epoch"]) + 1
            self.history = list(ckpt["history"])
            self.stage_results = [StageResult(**r) for r in ckpt["stage_results"]]
            self.generator.set_state(ckpt["generator"])
            self.shared_generator.set_state(ckpt["shared_generator"])
            torch.set_rng_state(ckpt["torch_rng"])
            train_seconds = list(ckpt["train_seconds"])

        best_epoch = -1
        with Progress(enabled=cfg.progress and self.rank == 0, lines=False) as bar:
            for si in range(start_stage, len(stages)):
                stage = stages[si]
                self._start_stage(stage, groups, len(stages))
                metric = stage.metric or self.selection_metric
                stopper = EarlyStopping(cfg.patience, higher_is_better(metric, self.protocol))
                best_state: dict[str, Any] | None = None
                best_epoch = -1
                first_epoch = 0
                if ckpt is not None and si == start_stage:  # resuming inside this stage
                    self.optimizer.load_state_dict(ckpt["optimizer"])  # type: ignore[union-attr]
                    stopper.load_state_dict(ckpt["stopper"])
                    best_state, best_epoch, first_epoch = ckpt["best_state"], int(ckpt["best_epoch"]), start_epoch
                max_epochs = stage.max_epochs or cfg.epochs
                bar.start(max_epochs, f"{self.method.name}:{stage.name}", completed=first_epoch)
                select = stage.select_on_valid and self.has_valid
                epoch = first_epoch - 1
                for epoch in range(first_epoch, max_epochs):
                    self.epoch = epoch
                    self.method.on_epoch_start(epoch, self)
                    te = time.perf_counter()
                    row: dict[str, Any] = {"stage": stage.name, "epoch": epoch, **self.train_epoch()}
                    train_seconds.append(time.perf_counter() - te)
                    row["seconds"] = train_seconds[-1]
                    self.method.on_epoch_end(epoch, self)
                    for cb in self.callbacks:
                        row.update(cb.on_epoch_end(epoch, self) or {})
                    if select:
                        valid = self.evaluate("valid", only={metric})
                        row.update({f"valid/{k}": v for k, v in valid.items()})
                        if stopper.update(self._selection_score(valid, metric), epoch):
                            best_state, best_epoch = copy.deepcopy(self.method.state_dict()), epoch
                    else:  # no validation split: keep the last weights (never select on test)
                        best_state, best_epoch = copy.deepcopy(self.method.state_dict()), epoch
                    self.history.append(row)
                    stop = select and stopper.should_stop
                    self.save_checkpoint(
                        {
                            "model": self.method.state_dict(),
                            "optimizer": self.optimizer.state_dict(),  # type: ignore[union-attr]
                            "stage": si,
                            "epoch": max_epochs if stop else epoch,
                            "best_state": best_state,
                            "best_epoch": best_epoch,
                            "stopper": stopper.state_dict(),
                            "history": self.history,
                            "stage_results": [asdict(r) for r in self.stage_results],
                            "generator": self.generator.get_state(),
                            "shared_generator": self.shared_generator.get_state(),
                            "torch_rng": torch.get_rng_state(),
                            "train_seconds": train_seconds,
                            "identity": self.identity() if self._ckpt_path() is not None else None,
                        }
                    )
                    bar.advance(description=_describe(self, row, metric, stopper.best))
                    if stop:
                        break
                if best_state is not None:
                    self.method.load_state_dict(best_state)
                self.stage_results.append(
                    StageResult(stage.name, metric if select else None, best_epoch,
                                stopper.best if select else None,
                                sum(1 for h in self.history if h["stage"] == stage.name))
                )
                ckpt = None

        self.method.eval()
        metrics: dict[str, float] = {}
        test_outputs = None
        for split in ("train", "valid", "test"):
            if split in self.data.splits:
                out = self.predict(split)
                metrics.update({f"{split}/{k}": v for k, v in self.metrics_of(out).items()})
                if split == "test":
                    test_outputs = out
        timings = {
            "fit": time.perf_counter() - t0,
            "train_epoch_mean": float(np.mean(train_seconds)) if train_seconds else 0.0,
            "epochs": float(len(train_seconds)),
        }
        last = self.stage_results[-1]
        return FitResult(
            self.method, metrics, last.best_epoch, self.history, timings, cfg,
            last.metric or self.selection_metric, self.data, test_outputs, list(self.stage_results),
            selected_on="valid" if last.metric is not None else None,
        )

    def _restore(self, state: dict[str, Any]) -> None:
        from infofusion.training.checkpoint import restore_weights

        restore_weights(self.method, state, self._ckpt_path())


def _describe(trainer: Trainer, row: dict[str, Any], metric: str, best: float | None) -> str:
    parts = [f"{trainer.method.name}:{trainer.stage.name} loss {row['loss']:.4f}"]
    key = f"valid/{metric}"
    if key in row:
        parts.append(f"{key} {row[key]:.4f} (best {best:.4f})" if best is not None else f"{key} {row[key]:.4f}")
    return " ".join(parts)


def build_method(method: str | nn.Module, data: MultimodalDataset, **options: Any) -> nn.Module:
    """A method instance: a registry name is created with ``spec=data.spec`` and options."""
    if isinstance(method, nn.Module):
        if options:
            raise ConfigError("method options can only be given with a method name")
        return method
    from infofusion.registry import create

    return create("method", method, spec=data.spec, **options)


def fit(
    method: str | nn.Module,
    data: MultimodalDataset,
    config: TrainConfig | None = None,
    callbacks: Sequence[Any] = (),
    **method_options: Any,
) -> FitResult:
    """Train ``method`` on ``data`` and return the validation-selected model and its metrics.

    Args:
        method: registry name (e.g. ``"joint"``) or a :class:`FusionMethod` instance.
        data: the dataset; needs a ``train`` split, uses ``valid`` for selection.
        config: training options (default :class:`TrainConfig`).
        callbacks: :class:`~infofusion.training.callbacks.Callback` objects (e.g. the
            information-plane analysis :class:`~infofusion.training.info_plane.InfoPlane`).
        **method_options: constructor options when ``method`` is a name.

    Example:
        >>> from infofusion.data import load_dataset
        >>> res = fit("joint", load_dataset("synthetic:synergy"), TrainConfig(epochs=5))  # doctest: +SKIP
        >>> res.metrics["test/accuracy"]  # doctest: +SKIP
    """
    config = config or TrainConfig()
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"config must be a TrainConfig, got {type(config).__name__}")
    data.require_split("train", "to train on")
    dist_utils.init_if_launched()
    seed_everything(config.seed)
    if config.standardize:
        data = data.standardize("train")
    module = build_method(method, data, **method_options)
    seed_everything(config.seed)  # same stream for training whatever construction consumed
    return Trainer(module, data, config, callbacks).fit()
