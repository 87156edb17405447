"""Unimodal baseline: one encoder and head on a single modality."""

from __future__ import annotations

from typing import Any

from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register


@register("method", "unimodal")
class Unimodal(FusionMethod):
    """One modality only: encoder -> MLP head (the reference every fusion must beat).

    Args:
        spec: task spec.
        modality: which modality to use (default: the first).
    """

    name = "unimodal"
    family = "unimodal"
    expresses_synergy = False
    multimodal = False

    def __init__(self, spec: TaskSpec, modality: str | None = None, **kw: Any) -> None:
        modality = modality or spec.names[0]
        if modality not in spec.names:
            raise ConfigError(
                f"method 'unimodal' option 'modality'={modality!r}: no such modality (available: "
                f"{', '.join(spec.names)})"
            )
        if kw.get("modalities") not in (None, [modality], (modality,)):
            raise ConfigError(f"unimodal: modalities={kw['modalities']!r} contradicts modality='{modality}'")
        super().__init__(spec, **{**kw, "modalities": [modality]})
        self.modality = modality
        self.encoders = self.make_encoders()
        self.head = self.make_head(self.embed_dim)

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encoders[self.modality](batch.x[self.modality], batch.mask(self.modality))  # (B, E)
        pred = self.shape_prediction(self.head(h))
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)}, unimodal={self.modality: pred})
