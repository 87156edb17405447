"""QMF: quality-aware multimodal fusion (Zhang et al., ICML 2023, arXiv 2306.02050).

Late fusion whose per-sample modality weights are energy-based confidences, trained with a
ranking loss that ties each modality's confidence to the sample's historical loss on that
modality (kept as per-sample state). Equations and choices: ``docs/methods/qmf.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.fusion import energy_confidence, history_ranking_loss
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register


@register("method", "qmf")
class QMF(FusionMethod):
    """Late fusion weighted by energy-based confidence: ``sum_m conf_m(x) * logits_m``.

    ``conf_m = logsumexp(logits_m) / temperature``; each branch has its own cross-entropy
    (``uni/<m>``) beside the fused one (``task``), and ``rank/<m>`` ranks the confidences of
    neighbouring batch samples by their accumulated training loss on ``m`` (per-sample state
    ``history``, refreshed at every epoch end from the training split), weighted by
    ``rank_weight``.

    Args:
        spec: the task (classification only: the confidence is the free energy of class
            logits).
        temperature: ``T`` of the confidence (the reference uses 10).
        rank_weight: weight of each modality's ranking loss (the reference uses 0.1).
    """

    family = "late"
    # a confidence-weighted sum of per-modality outputs
    expresses_synergy = False

    name = "qmf"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)

    def __init__(self, spec: TaskSpec, temperature: float = 10.0, rank_weight: float = 0.1, **kw: Any) -> None:
        if spec.task != "classification":
            raise ConfigError(
                f"qmf: defined for classification only (its confidence is the free energy of class logits), "
                f"got a {spec.task} task"
            )
        super().__init__(spec, **kw)
        if not temperature > 0:
            raise ConfigError(f"qmf: temperature must be > 0, got {temperature!r}")
        if not rank_weight >= 0:
            raise ConfigError(f"qmf: rank_weight must be >= 0, got {rank_weight!r}")
        self.temperature, self.rank_weight = float(temperature), float(rank_weight)
        self.encoders = self.make_encoders()
        self.heads = nn.ModuleDict({m: self.make_head(self.embed_dim) for m in self.modality_names})
        self._train_index: torch.Tensor | None = None

    def on_fit_start(self, trainer: Any) -> None:
        # (N, M) accumulated per-sample loss of each branch; rows of non-training samples stay 0
        n, k = len(trainer.data), len(self.modality_names)
        self.register_sample_state("history", torch.zeros(n, k, device=trainer.device))
        self._train_index = trainer.data.indices("train").to(trainer.device)

    def on_epoch_end(self, epoch: int, trainer: Any) -> None:
        out = trainer.predict("train")  # every process runs it on the whole split
        history = self.sample_state("history")
        y = torch.as_tensor(out["y"])
        index = torch.as_tensor(out["index"]).to(history.device)
        for j, m in enumerate(self.modality_names):
            loss = nn.functional.cross_entropy(torch.as_tensor(out["unimodal"][m]), y, reduction="none")
            history[index, j] += loss.to(history.device)

    def normalized_history(self, index: torch.Tensor) -> torch.Tensor | None:
        """``(B, M)`` historical losses of the samples at ``index``, min-max scaled over the
        training split per modality; None before any history exists (outside the trainer)."""
        if self._train_index is None:  # set with the state, in on_fit_start
            return None
        history = self.sample_state("history")
        train = history[self._train_index]  # (N_train, M)
        low, high = train.min(0).values, train.max(0).values
        span = torch.where(high > low, high - low, torch.ones_like(high))
        return (history[index.to(history.device)] - low) / span

    def loss_weights(self) -> dict[str, float]:
        return {f"rank/{m}": self.rank_weight for m in self.modality_names}

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        logits = {m: self.heads[m](h[m]) for m in self.modality_names}  # m -> (B, C)
        conf = {m: energy_confidence(logits[m], self.temperature) for m in self.modality_names}  # m -> (B,)
        pred = sum(conf[m].unsqueeze(-1) * logits[m] for m in self.modality_names)
        losses = {"task": self.task_loss(pred, batch.y)}
        losses.update({f"uni/{m}": self.task_loss(logits[m], batch.y) for m in self.modality_names})
        if self.training:
            hist = self.normalized_history(batch.index)
            if hist is not None:
                for j, m in enumerate(self.modality_names):
                    losses[f"rank/{m}"] = history_ranking_loss(conf[m], hist[:, j])
        diagnostics = {f"conf/{m}": c.detach() for m, c in conf.items()}
        return MethodOutput(pred, losses, diagnostics, logits)
