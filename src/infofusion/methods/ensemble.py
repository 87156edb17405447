"""Ensemble: unimodal models trained separately, averaged at test time."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register


@register("method", "ensemble")
class Ensemble(FusionMethod):
    """Independent unimodal models whose predictions are averaged.

    Each branch is trained on its own loss only (the branches share no parameters and each
    loss term reaches only its own branch, so with a per-parameter optimiser such as Adam this
    is separate training run side by side). The fused prediction -- mean of probabilities
    (``average="prob"``, returned as log-probabilities) or of logits (``average="logit"``), mean
    of scores for regression -- is used for evaluation only. Being a decision-level average it
    cannot represent synergy (e.g. XOR of one bit per modality).
    """

    name = "ensemble"
    family = "ensemble"
    expresses_synergy = False

    def __init__(self, spec: TaskSpec, average: str = "prob", **kw: Any) -> None:
        super().__init__(spec, **kw)
        if average not in ("prob", "logit"):
            raise ConfigError(f"ensemble: average must be 'prob' or 'logit', got {average!r}")
        self.average = average
        self.encoders = self.make_encoders()
        self.heads = nn.ModuleDict({m: self.make_head(self.embed_dim) for m in self.modality_names})

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        outs = {m: self.shape_prediction(self.heads[m](h[m])) for m in self.modality_names}
        stacked = torch.stack(list(outs.values()))  # (M, B, C) or (M, B)
        if self.spec.task == "classification" and self.average == "prob":
            pred = torch.log(torch.softmax(stacked, dim=-1).mean(dim=0).clamp_min(1e-12))
        else:
            pred = stacked.mean(dim=0)
        losses = {f"task/{m}": self.task_loss(o, batch.y) for m, o in outs.items()}
        return MethodOutput(pred, losses, unimodal=outs)
