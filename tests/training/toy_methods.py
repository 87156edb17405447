"""Toy fusion methods that exercise the engine's hooks (used by tests only, never registered).

* :class:`WeightedJoint` -- joint fusion with a per-sample loss weight kept as per-sample state
  and refreshed at every epoch end from ``trainer.predict("train")`` (the shape of BTW).
* :class:`OGMToy` -- late fusion with OGM-GE gradient modulation: per-modality scores from the
  global batch (``trainer.all_reduce``), the dominant encoder's gradients scaled down, Gaussian
  noise from ``trainer.shared_generator``.
* :class:`StagedToy` -- three stages over named parameter groups, one frozen at construction.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from infofusion.data.dataset import MultimodalDataset
from infofusion.interfaces import Batch, MethodOutput, StageSpec, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.methods.joint import JointFusion


def dominant_dataset(n: int = 480, seed: int = 0) -> MultimodalDataset:
    """Label = one bit; modality ``a`` shows it clearly, ``b`` through heavy noise (``a``
    dominates, so OGM-GE slows ``a``'s encoder down)."""
    rng = np.random.default_rng(seed)
    bit = rng.integers(0, 2, n)
    a = (2 * bit[:, None] - 1) + 0.5 * rng.standard_normal((n, 4))
    b = 0.3 * (2 * bit[:, None] - 1) + 1.0 * rng.standard_normal((n, 4))
    idx = rng.permutation(n)
    splits = {"train": idx[: int(0.6 * n)], "valid": idx[int(0.6 * n) : int(0.8 * n)], "test": idx[int(0.8 * n) :]}
    return MultimodalDataset({"a": a, "b": b}, bit.astype(np.int64), splits=splits, name="dominant")


class WeightedJoint(JointFusion):
    """Joint fusion whose task loss weighs sample ``i`` by ``w_i = 2 - p_i`` (``p_i``: the
    probability the model gave sample ``i``'s class at the last epoch end)."""

    sleep = 0.0  # seconds after each epoch, so that a kill lands mid-run

    def on_fit_start(self, trainer: Any) -> None:
        self.register_sample_state("weight", torch.ones(len(trainer.data), device=trainer.device))

    def forward(self, batch: Batch) -> MethodOutput:
        out = super().forward(batch)
        per_sample = self.task_loss(out.prediction, batch.y, reduction="none")  # (B,)
        w = self.sample_state("weight")[batch.index]  # (B,)
        out.losses["task"] = (w * per_sample).mean()
        return out

    def on_epoch_end(self, epoch: int, trainer: Any) -> None:
        out = trainer.predict("train")
        prob = torch.softmax(torch.as_tensor(out["prediction"]), dim=-1)  # (N_train, C)
        p_true = prob[torch.arange(len(prob)), torch.as_tensor(out["y"])]
        weight = self.sample_state("weight")
        weight[torch.as_tensor(out["index"]).to(weight.device)] = (2.0 - p_true).to(weight.device)
        time.sleep(self.sleep)


class OGMToy(FusionMethod):
    """Late fusion (sum of per-modality logits) trained with OGM-GE.

    After backward: ``s_m = sum_i softmax(y_m)_i[y_i]`` over the *global* batch,
    ``rho = s_a / s_b``; the dominant modality's encoder weights get their gradient multiplied
    by ``1 - tanh(alpha * relu(rho_dominant - 1))`` and Gaussian noise with the gradient's
    standard deviation added (generalisation enhancement).
    """

    name = "ogm_toy"

    def __init__(self, spec: TaskSpec, alpha: float = 2.0, noise: bool = True, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.alpha, self.noise = alpha, noise
        self.encoders = self.make_encoders()
        self.heads = nn.ModuleDict({m: nn.Linear(self.embed_dim, self.out_dim) for m in self.modality_names})
        self.coefficients: list[dict[str, float]] = []

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        uni = {m: self.heads[m](h[m]) for m in self.modality_names}  # (B, C) each
        pred = torch.stack(list(uni.values())).sum(dim=0)
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)}, unimodal=uni)

    def after_backward(self, trainer: Any, batch: Batch, out: MethodOutput) -> None:
        a, b = self.modality_names
        y = batch.y.unsqueeze(1)
        local = {m: torch.softmax(out.unimodal[m].detach(), dim=-1).gather(1, y).sum() for m in (a, b)}
        score = trainer.all_reduce(local)  # sums over the global batch
        rho = float(score[a] / score[b])
        coeff = {a: 1.0, b: 1.0}
        if rho > 1:
            coeff[a] = 1.0 - math.tanh(self.alpha * max(rho - 1.0, 0.0))
        else:
            coeff[b] = 1.0 - math.tanh(self.alpha * max(1.0 / rho - 1.0, 0.0))
        self.coefficients.append(coeff)
        for m in (a, b):
            for p in self.encoders[m].parameters():
                if p.grad is None or p.ndim < 2:
                    continue
                p.grad.mul_(coeff[m])
                if self.noise:
                    noise = torch.randn(p.grad.shape, generator=trainer.shared_generator).to(p.grad.device)
                    p.grad.add_(noise * (p.grad.std() + 1e-8))


class StagedToy(FusionMethod):
    """Three stages over the groups ``encoders``, ``heads`` (unimodal) and ``fusion``.

    1. ``unimodal``: encoders and unimodal heads on the unimodal losses, selected on
       ``a/accuracy``;
    2. ``fusion``: only the fusion head (frozen at construction) on the fused loss, lr x 0.5;
    3. ``finetune``: ``train=None`` -- what was trainable at fit start (everything but the
       fusion head), every loss, lr x 0.1.

    ``snapshots[stage]`` holds every parameter at the start of ``stage`` (``"end"``: after fit),
    ``lrs[stage]`` the optimiser's learning rates during ``stage``.
    """

    name = "staged_toy"

    def __init__(self, spec: TaskSpec, perturb_rank: int | None = None, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.perturb_rank = perturb_rank
        self.encoders = self.make_encoders()
        self.heads = nn.ModuleDict({m: nn.Linear(self.embed_dim, self.out_dim) for m in self.modality_names})
        self.fusion = self.make_head(self.embed_dim * len(self.modality_names))
        self.fusion.requires_grad_(False)
        self.current = ""
        self.snapshots: dict[str, dict[str, torch.Tensor]] = {}
        self.lrs: dict[str, list[float]] = {}  # stage -> learning rate of each optimiser group

    def stages(self) -> list[StageSpec]:
        return [
            StageSpec("unimodal", max_epochs=3, metric="a/accuracy", train=("encoders", "heads")),
            StageSpec("fusion", max_epochs=3, lr_factor=0.5, train=("fusion",)),
            StageSpec("finetune", max_epochs=2, lr_factor=0.1),
        ]

    def parameter_groups(self) -> dict[str, list[nn.Module | nn.Parameter]]:
        return {"encoders": [self.encoders], "heads": [self.heads], "fusion": [self.fusion]}

    def on_fit_start(self, trainer: Any) -> None:
        if self.perturb_rank is not None and trainer.rank == self.perturb_rank:
            with torch.no_grad():  # this replica disagrees until the engine wraps for DDP
                for p in self.fusion.parameters():
                    p.add_(1.0)

    def snapshot(self, key: str) -> None:
        self.snapshots[key] = {n: p.detach().clone() for n, p in self.named_parameters()}

    def on_stage_start(self, stage: StageSpec, trainer: Any) -> None:
        self.current = stage.name
        self.snapshot(stage.name)

    def on_epoch_start(self, epoch: int, trainer: Any) -> None:
        self.lrs[self.current] = [g["lr"] for g in trainer.optimizer.param_groups]

    def loss_weights(self) -> dict[str, float]:
        if self.current == "unimodal":
            return {"task": 0.0}
        if self.current == "fusion":
            return {"task/a": 0.0, "task/b": 0.0}
        return {}

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        uni = {m: self.heads[m](h[m]) for m in self.modality_names}
        pred = self.fusion(torch.cat([h[m] for m in self.modality_names], dim=-1))
        losses = {"task": self.task_loss(pred, batch.y)}
        losses.update({f"task/{m}": F.cross_entropy(uni[m], batch.y) for m in self.modality_names})
        return MethodOutput(pred, losses, unimodal=uni)


#: parameter-name prefix of each group of :class:`StagedToy`
STAGED_GROUPS = {"encoders": "encoders.", "heads": "heads.", "fusion": "fusion."}


def changed_groups(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> dict[str, list[bool]]:
    """Group -> for each of its parameter tensors, whether any element changed."""
    return {
        g: [not torch.equal(before[n], after[n]) for n in sorted(before) if n.startswith(prefix)]
        for g, prefix in STAGED_GROUPS.items()
    }


#: StagedToy: which groups each stage trains (the others must stay bit-identical)
STAGED_TRAINS = {"unimodal": {"encoders", "heads"}, "fusion": {"fusion"}, "finetune": {"encoders", "heads"}}


def expected_staged_changes(method: StagedToy) -> dict[str, dict[str, list[bool]]]:
    """What :func:`changed_groups` must give between consecutive stages: every tensor of a
    trained group changed, every other tensor unchanged."""
    names = sorted(n for n, _ in method.named_parameters())
    return {
        stage: {g: [g in trained] * sum(n.startswith(prefix) for n in names) for g, prefix in STAGED_GROUPS.items()}
        for stage, trained in STAGED_TRAINS.items()
    }
