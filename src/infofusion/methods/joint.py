"""Joint fusion (early or intermediate concatenation), trained end to end on the fused output."""

from __future__ import annotations

from typing import Any

import torch

from infofusion.encoders import mlp
from infofusion.errors import ConfigError
from infofusion.functional.pooling import masked_mean
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register


@register("method", "joint")
class JointFusion(FusionMethod):
    """Concatenation fusion.

    ``fusion="intermediate"`` (default): per-modality encoders -> concat -> MLP head.
    ``fusion="early"``: raw features (sequences mean-pooled over valid steps) concatenated into
    one MLP. Only the fused prediction is supervised.
    """

    name = "joint"
    family = "joint"
    expresses_synergy = True

    def __init__(self, spec: TaskSpec, fusion: str = "intermediate", **kw: Any) -> None:
        super().__init__(spec, **kw)
        if fusion not in ("intermediate", "early"):
            raise ConfigError(f"joint: fusion must be 'intermediate' or 'early', got {fusion!r}")
        self.fusion = fusion
        if fusion == "intermediate":
            self.encoders = self.make_encoders()
            self.head = self.make_head(self.embed_dim * len(self.modality_names))
        else:
            in_dim = sum(spec.modality(m).dim for m in self.modality_names)
            self.net = mlp(in_dim, self.hidden, self.out_dim, layers=3, dropout=self.dropout)

    def forward(self, batch: Batch) -> MethodOutput:
        if self.fusion == "intermediate":
            h = self.encode(self.encoders, batch)
            z = torch.cat([h[m] for m in self.modality_names], dim=-1)  # (B, M*E)
            out = self.head(z)
        else:
            parts = []
            for m in self.modality_names:
                x = batch.x[m]
                parts.append(masked_mean(x, batch.mask(m)) if x.ndim == 3 else x)
            out = self.net(torch.cat(parts, dim=-1))
        pred = self.shape_prediction(out)
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)})



