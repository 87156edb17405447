"""Late fusion: per-modality heads whose outputs are summed, trained jointly on the sum."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register


@register("method", "late")
class LateFusion(FusionMethod):
    """Sum of per-modality logits (scores for regression); only the sum is supervised.

    Each branch's own output is reported in ``MethodOutput.unimodal`` for per-modality accuracy.
    """

    name = "late"
    family = "late"
    expresses_synergy = False

    def __init__(self, spec: TaskSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.encoders = self.make_encoders()
        self.heads = nn.ModuleDict({m: self.make_head(self.embed_dim) for m in self.modality_names})

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        outs = {m: self.shape_prediction(self.heads[m](h[m])) for m in self.modality_names}
        pred = torch.stack(list(outs.values())).sum(dim=0)
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)}, unimodal=outs)
