"""LMF: low-rank multimodal fusion (Liu et al., ACL 2018, "Efficient Low-rank Multimodal Fusion
with Modality-Specific Factors").

The tensor-fusion layer of TFN (``methods/tfn.py``) with its weight factorised into ``rank``
modality-specific factors: the cost grows linearly in the number of modalities instead of
exponentially. ``docs/methods/lmf.md``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.fusion import low_rank_fusion
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register


@register("method", "lmf")
class LowRankFusion(FusionMethod):
    """Low-rank tensor fusion: TFN's tensor layer factorised into modality-specific factors.

    ``h = sum_r w_r prod_m ([z_m; 1]^T W_m^(r)) + b`` feeds ReLU-Dropout-Linear.

    This is TFN with the first layer of its head (a linear map of the outer product of every
    ``[z_m; 1]``, ``(hidden, prod_m (d_m + 1))``) replaced by its rank-``rank`` factorisation;
    ``z_m`` is modality ``m``'s encoding (``embed_dim``), with no reduction of width needed.

    Args:
        spec: the task.
        rank: number of factors ``R`` (the paper uses 1-16; 4 is its common choice).
    """

    family = "tensor"
    # a low-rank tensor product of the modalities: multiplicative, fits XOR
    expresses_synergy = True

    name = "lmf"

    def __init__(self, spec: TaskSpec, rank: int = 4, **kw: Any) -> None:
        super().__init__(spec, **kw)
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ConfigError(f"lmf: rank must be an integer >= 1, got {rank!r}")
        self.rank = rank
        self.encoders = self.make_encoders()
        d, h = self.embed_dim, self.hidden
        # each factor maps a unit-scale [z; 1] to unit-variance outputs, so the product over the
        # M modalities keeps its scale whatever M is
        self.factors = nn.ParameterList(
            [nn.Parameter(torch.randn(rank, d + 1, h) / math.sqrt(d + 1)) for _ in self.modality_names]
        )
        self.rank_weights = nn.Parameter(torch.full((rank,), 1.0 / math.sqrt(rank)))
        self.fusion_bias = nn.Parameter(torch.zeros(h))
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(self.dropout), nn.Linear(h, self.out_dim))

    def forward(self, batch: Batch) -> MethodOutput:
        z = self.encode(self.encoders, batch)
        fused = low_rank_fusion([z[m] for m in self.modality_names], list(self.factors), self.rank_weights, self.fusion_bias)
        pred = self.shape_prediction(self.head(fused))
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)})
