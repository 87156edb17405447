"""Tensor Fusion Network (Zadeh et al., 2017): outer product of [z_m; 1] over modalities."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register
from infofusion.validation import Rule


@register("method", "tfn")
class TensorFusion(FusionMethod):
    """Tensor fusion: outer product of every modality's ``[z; 1]`` feeds the head.

    Each modality is encoded to ``tfn_dim`` features, extended with a constant 1, and the
    outer product over all modalities (which keeps unimodal, bimodal and trimodal terms) feeds
    the head. The fused size is ``prod(tfn_dim + 1)``, so ``tfn_dim`` stays small for M >= 3.
    """

    name = "tfn"
    family = "tensor"
    expresses_synergy = True
    option_rules = {"tfn_dim": Rule(min=1), "max_fused": Rule(min=2)}

    def __init__(self, spec: TaskSpec, tfn_dim: int | None = None, max_fused: int = 4096, **kw: Any) -> None:
        super().__init__(spec, **kw)
        m = len(self.modality_names)
        if tfn_dim is None:  # largest width <= 16 whose fused size stays <= max_fused
            tfn_dim = max(1, min(16, int(round(max_fused ** (1.0 / m))) - 1))
            while (tfn_dim + 1) ** m > max_fused and tfn_dim > 1:
                tfn_dim -= 1
        self.tfn_dim = tfn_dim
        self.encoders = self.make_encoders()
        self.proj = nn.ModuleDict({m: nn.Linear(self.embed_dim, tfn_dim) for m in self.modality_names})
        self.head = self.make_head((tfn_dim + 1) ** len(self.modality_names))

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        fused: torch.Tensor | None = None
        for m in self.modality_names:
            z = self.proj[m](h[m])  # (B, d)
            z = torch.cat([z, torch.ones_like(z[:, :1])], dim=-1)  # (B, d+1)
            # (B, P) x (B, d+1) -> (B, P*(d+1))
            fused = z if fused is None else torch.einsum("bp,bq->bpq", fused, z).flatten(1)
        pred = self.shape_prediction(self.head(fused))
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)})
