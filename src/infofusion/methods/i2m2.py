"""I2M2: inter- and intra-modality modelling (Madaan et al., NeurIPS 2024).

A product of experts: one classifier per modality (intra-modality dependencies) and one joint
classifier on all modalities (inter-modality dependencies); the combined logits are the sum of
the experts' log-probabilities, trained together under cross-entropy. ``docs/methods/i2m2.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.fusion import product_of_experts
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register


@register("method", "i2m2")
class I2M2(FusionMethod):
    """Product of experts: the sum of unimodal and joint experts' log-probabilities.

    ``logits = sum_m log p_m(y | x_m) + log p_joint(y | x_1, ..., x_M)``.

    Every expert has its own encoders (the unimodal experts one each, the joint expert one per
    modality feeding a concatenation head, as joint fusion); only the combined output is
    supervised. The unimodal experts' logits are reported as branches.

    Args:
        spec: the task (classification only: experts are multiplied as class distributions).
    """

    family = "product-of-experts"
    # its joint expert sees all modalities together
    expresses_synergy = True

    name = "i2m2"
    tasks: ClassVar[tuple[str, ...]] = ("classification",)

    def __init__(self, spec: TaskSpec, **kw: Any) -> None:
        if spec.task != "classification":
            raise ConfigError(
                f"i2m2: defined for classification only (the experts are multiplied as class distributions), "
                f"got a {spec.task} task"
            )
        super().__init__(spec, **kw)
        self.encoders = self.make_encoders()  # unimodal experts
        self.heads = nn.ModuleDict({m: self.make_head(self.embed_dim) for m in self.modality_names})
        self.joint_encoders = self.make_encoders()  # the joint expert
        self.joint_head = self.make_head(self.embed_dim * len(self.modality_names))

    def experts(self, batch: Batch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The experts' logits: modality -> ``(B, C)`` and the joint expert's ``(B, C)``."""
        h = self.encode(self.encoders, batch)
        uni = {m: self.heads[m](h[m]) for m in self.modality_names}
        hj = self.encode(self.joint_encoders, batch)
        joint = self.joint_head(torch.cat([hj[m] for m in self.modality_names], dim=-1))
        return uni, joint

    def forward(self, batch: Batch) -> MethodOutput:
        uni, joint = self.experts(batch)
        pred = product_of_experts([*uni.values(), joint])
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)}, unimodal=uni)
