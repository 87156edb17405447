"""The training engine: a plain PyTorch loop that the whole library shares.

In-memory feature data is batched by tensor indexing; model selection and early stopping use the
validation split only; a checkpoint is written after every epoch (atomically) so ``resume=True``
continues a killed run to the same result; seeds make runs repeatable; DistributedDataParallel is
used when launched by ``torchrun``. Method-specific behaviour (stages, freezing, epoch-level
updates, gradient surgery) comes from hooks the method defines, never from special cases here.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from infofusion.data.dataset import MultimodalDataset
from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, MethodOutput, StageSpec
from infofusion.training import distributed as dist_utils


@dataclass
class TrainConfig:
    """Options of one training run (all recorded with the results).

    Attributes:
        epochs: maximum epochs (per stage for multi-stage methods).
        batch_size: global batch size (split across processes under DDP).
        lr, weight_decay: AdamW settings.
        patience: early stopping after this many epochs without validation improvement
            (``0`` disables early stopping).
        seed: seeds python, numpy and torch; also fixes the shuffling order.
        metric: validation metric used for model selection (default: the protocol's primary).
        protocol: metric protocol (default: ``dataset.info['protocol']`` or by task).
        standardize: z-score modalities with statistics of the training split.
        grad_clip: max gradient norm (None: no clipping).
        checkpoint_dir: write ``last.pt`` there after every epoch.
        resume: continue from ``checkpoint_dir/last.pt`` if present.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        progress: show a progress bar.
        eval_batch_size: batch size for evaluation passes.
    """

    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 10
    seed: int = 0
    metric: str | None = None
    protocol: str | None = None
    standardize: bool = True
    grad_clip: float | None = None
    checkpoint_dir: str | None = None
    resume: bool = False
    device: str = "auto"
    progress: bool = True
    eval_batch_size: int = 2048

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
        selection_metric: the validation metric used for model selection.
        data: the (standardised) dataset the method was trained on.
        test_outputs: :meth:`Trainer.predict` on the test split (``prediction``, ``unimodal``,
            ``diagnostics``, ``y``, ``index``), or None without a test split.
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


def _hook(method: nn.Module, name: str) -> Any:
    return getattr(method, name, None)


class Trainer:
    """Runs the loop for one method on one dataset (see :func:`fit`).

    Hooks see the trainer: ``trainer.data`` (the standardised dataset), ``trainer.method``
    (the bare module, not the DDP wrapper), ``trainer.optimizer``, ``trainer.config``,
    ``trainer.device``, ``trainer.epoch`` and ``trainer.stage``; ``trainer.evaluate(split)``
    and ``trainer.predict(split)`` are available to hooks too. ``callbacks``
    (:class:`~infofusion.training.callbacks.Callback`) are analyses the user switches on for any
    method; each runs after the method's hook of the same name.
    """

    def __init__(
        self, method: nn.Module, data: MultimodalDataset, config: TrainConfig, callbacks: Sequence[Any] = ()
    ) -> None:
        self.callbacks = list(callbacks)
        self.config = config
        self.data = data
        self.method = method
        self.device = resolve_device(config.device)
        self.method.to(self.device)
        self.rank, self.world = dist_utils.rank_and_world()
        self.model: nn.Module = dist_utils.wrap(self.method, self.device)
        self.protocol = config.protocol or data.info.get("protocol") or (
            "classification" if data.task == "classification" else "regression"
        )
        from infofusion.evaluation.metrics import higher_is_better, primary_metric

        self.selection_metric = config.metric or primary_metric(data.task, self.protocol)
        self.higher_is_better = higher_is_better(self.selection_metric)
        self.has_valid = "valid" in data.splits
        self.optimizer: torch.optim.Optimizer | None = None
        self.epoch = 0
        self.stage: StageSpec = StageSpec("main")
        self.history: list[dict[str, Any]] = []
        self.generator = torch.Generator().manual_seed(config.seed)

    # ------------------------------------------------------------------ building blocks
    def make_optimizer(self) -> torch.optim.Optimizer:
        """AdamW over trainable parameters (no weight decay on biases and norm weights)."""
        make = _hook(self.method, "configure_optimizer")
        if make is not None:
            return make(self.config)
        decay, no_decay = [], []
        for p in self.method.parameters():
            if p.requires_grad:
                (no_decay if p.ndim <= 1 else decay).append(p)
        groups = [
            {"params": decay, "weight_decay": self.config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        # foreach: one fused kernel call per op over all tensors instead of a Python loop per tensor
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=self.config.lr, foreach=True)

    def loss_of(self, out: MethodOutput) -> torch.Tensor:
        weights_fn = _hook(self.method, "loss_weights")
        weights = weights_fn() if weights_fn is not None else {}
        total = None
        for name, term in out.losses.items():
            w = weights.get(name, 1.0)
            if w == 0:
                continue
            total = term * w if total is None else total + term * w
        if total is None:
            raise ConfigError(f"method '{getattr(self.method, 'name', '?')}' returned no loss terms")
        return total

    def _train_batches(self) -> Iterator[Batch]:
        """This process's share of each global batch (same global order on every process)."""
        idx = self.data.indices("train")
        perm = idx[torch.randperm(len(idx), generator=self.generator)]
        bs = self.config.batch_size
        for start in range(0, len(perm), bs):
            chunk = perm[start : start + bs]
            if self.world > 1:
                chunk = chunk.tensor_split(self.world)[self.rank]
                if len(chunk) == 0:
                    continue
            yield self.data.batch(chunk).to(self.device)

    def train_epoch(self) -> dict[str, float]:
        self.model.train()
        sums: dict[str, torch.Tensor] = {}
        n_batches = 0
        after_backward = _hook(self.method, "after_backward")
        for batch in self._train_batches():
            out: MethodOutput = self.model(batch)
            loss = self.loss_of(out)
            self.optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
            loss.backward()
            if after_backward is not None:
                after_backward(self)
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
        """Outputs on a split: ``prediction``, ``unimodal`` (dict), ``diagnostics`` (dict),
        ``y`` and ``index`` as numpy arrays, concatenated over batches."""
        self.method.eval()
        preds, ys, idxs = [], [], []
        uni: dict[str, list[torch.Tensor]] = {}
        diag: dict[str, list[torch.Tensor]] = {}
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
        return {
            "prediction": torch.cat(preds).numpy(),
            "y": torch.cat(ys).numpy(),
            "index": torch.cat(idxs).numpy(),
            "unimodal": {k: torch.cat(v).numpy() for k, v in uni.items()},
            "diagnostics": {k: torch.cat(v).numpy() for k, v in diag.items()},
        }

    def evaluate(self, split: str) -> dict[str, float]:
        """Metrics of the current weights on ``split`` (fused and per modality)."""
        return self.metrics_of(self.predict(split))

    def metrics_of(self, out: dict[str, Any]) -> dict[str, float]:
        """Metrics of :meth:`predict` outputs: the protocol's metrics, each unimodal branch's,
        and for classifiers with branches the synergy indicator against those branches (share
        of samples the fused prediction gets right while every branch errs)."""
        from infofusion.evaluation.metrics import compute_metrics, per_modality_metrics

        kw = dict(task=self.data.task, protocol=self.protocol, n_classes=self.data.n_classes)
        metrics = compute_metrics(out["y"], out["prediction"], **kw)
        if out["unimodal"] and getattr(self.method, "multimodal", True):
            metrics.update(per_modality_metrics(out["y"], out["unimodal"], **kw))
            if self.data.task == "classification":
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

    def load_checkpoint(self) -> dict[str, Any] | None:
        path = self._ckpt_path()
        if path is None or not self.config.resume or not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    # ------------------------------------------------------------------ the loop
    def _stages(self) -> list[StageSpec]:
        stages_fn = _hook(self.method, "stages")
        stages = list(stages_fn()) if stages_fn is not None else []
        return stages or [StageSpec("main")]

    def _better(self, score: float, best: float | None) -> bool:
        if best is None or not math.isfinite(best):
            return math.isfinite(score)
        return score > best if self.higher_is_better else score < best

    def fit(self) -> FitResult:
        t0 = time.perf_counter()
        cfg = self.config
        stages = self._stages()
        start_stage, start_epoch = 0, 0
        best_state: dict[str, torch.Tensor] | None = None
        best_score: float | None = None
        best_epoch, bad_epochs = -1, 0
        train_seconds: list[float] = []

        ckpt = self.load_checkpoint()
        fit_start = _hook(self.method, "on_fit_start")
        if fit_start is not None:
            fit_start(self)  # before restoring: hooks may build parts the checkpoint fills
        for cb in self.callbacks:
            cb.on_fit_start(self)
        if ckpt is not None:
            self.method.load_state_dict(ckpt["model"])
            start_stage, start_epoch = int(ckpt["stage"]), int(ckpt["epoch"]) + 1
            best_state, best_score = ckpt["best_state"], ckpt["best_score"]
            best_epoch, bad_epochs = int(ckpt["best_epoch"]), int(ckpt["bad_epochs"])
            self.history = list(ckpt["history"])
            self.generator.set_state(ckpt["generator"])
            torch.set_rng_state(ckpt["torch_rng"])
            train_seconds = list(ckpt.get("train_seconds", []))

        progress = _progress(cfg.progress and self.rank == 0)
        with progress as bar:
            for si in range(start_stage, len(stages)):
                self.stage = stage = stages[si]
                stage_start = _hook(self.method, "on_stage_start")
                if stage_start is not None:
                    stage_start(stage, self)
                self.optimizer = self.make_optimizer()
                resumed_here = ckpt is not None and si == start_stage
                if resumed_here and ckpt.get("optimizer") is not None:
                    self.optimizer.load_state_dict(ckpt["optimizer"])
                first_epoch = start_epoch if resumed_here else 0
                if not resumed_here:
                    best_state, best_score, best_epoch, bad_epochs = None, None, -1, 0
                max_epochs = stage.max_epochs or cfg.epochs
                task = bar.add_task(f"{getattr(self.method, 'name', 'method')}:{stage.name}", total=max_epochs, completed=first_epoch) if bar else None
                for epoch in range(first_epoch, max_epochs):
                    self.epoch = epoch
                    hook = _hook(self.method, "on_epoch_start")
                    if hook is not None:
                        hook(epoch, self)
                    te = time.perf_counter()
                    row: dict[str, Any] = {"stage": stage.name, "epoch": epoch, **self.train_epoch()}
                    train_seconds.append(time.perf_counter() - te)
                    row["seconds"] = train_seconds[-1]
                    hook = _hook(self.method, "on_epoch_end")
                    if hook is not None:
                        hook(epoch, self)
                    for cb in self.callbacks:
                        row.update(cb.on_epoch_end(epoch, self) or {})
                    select = stage.select_on_valid and self.has_valid
                    if select:
                        valid = self.evaluate("valid")
                        row.update({f"valid/{k}": v for k, v in valid.items()})
                        score = valid.get(self.selection_metric, float("nan"))
                        if self._better(score, best_score):
                            best_score, best_epoch, bad_epochs = score, epoch, 0
                            best_state = copy.deepcopy(self.method.state_dict())
                        else:
                            bad_epochs += 1
                    else:  # no validation split: keep the last weights (never select on test)
                        best_state, best_epoch = copy.deepcopy(self.method.state_dict()), epoch
                    self.history.append(row)
                    stop = select and cfg.patience > 0 and bad_epochs >= cfg.patience
                    self.save_checkpoint(
                        {
                            "model": self.method.state_dict(),
                            "optimizer": self.optimizer.state_dict(),
                            "stage": si,
                            "epoch": max_epochs if stop else epoch,
                            "best_state": best_state,
                            "best_score": best_score,
                            "best_epoch": best_epoch,
                            "bad_epochs": bad_epochs,
                            "history": self.history,
                            "generator": self.generator.get_state(),
                            "torch_rng": torch.get_rng_state(),
                            "train_seconds": train_seconds,
                        }
                    )
                    if bar is not None:
                        bar.update(task, advance=1, description=_describe(self, row, best_score))
                    if stop:
                        break
                if best_state is not None:
                    self.method.load_state_dict(best_state)
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
        return FitResult(
            self.method, metrics, best_epoch, self.history, timings, cfg, self.selection_metric, self.data,
            test_outputs,
        )


def _describe(trainer: Trainer, row: dict[str, Any], best: float | None) -> str:
    name = getattr(trainer.method, "name", "method")
    parts = [f"{name}:{trainer.stage.name} loss {row['loss']:.4f}"]
    key = f"valid/{trainer.selection_metric}"
    if key in row:
        parts.append(f"{key} {row[key]:.4f} (best {best:.4f})" if best is not None else f"{key} {row[key]:.4f}")
    return " ".join(parts)


def _progress(enabled: bool) -> Any:
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    )


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
    dist_utils.init_if_launched()
    seed_everything(config.seed)
    if config.standardize:
        data = data.standardize("train")
    module = build_method(method, data, **method_options)
    seed_everything(config.seed)  # same stream for training whatever construction consumed
    return Trainer(module, data, config, callbacks).fit()
