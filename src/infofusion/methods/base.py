"""Base class of fusion methods: the method contract in code.

A method is an ``nn.Module`` built from a :class:`TaskSpec`; ``forward(batch)`` returns a
:class:`MethodOutput` (prediction, named loss terms, per-sample diagnostics, unimodal branch
predictions). Behaviour the trainer must know about is declared through optional hooks
(:class:`infofusion.interfaces.TrainingHooks`), never special-cased in the trainer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from infofusion.encoders import make_encoder
from infofusion.interfaces import Batch, MethodOutput, TaskSpec


class FusionMethod(nn.Module):
    """Common machinery: task loss, encoders per modality, config recording.

    Subclasses implement ``forward(batch) -> MethodOutput`` and may set ``needs_all_modalities``
    or implement trainer hooks (``stages``, ``on_stage_start``, ``on_fit_start``,
    ``on_epoch_start``, ``on_epoch_end``, ``after_backward``, ``loss_weights``).

    Args:
        spec: the task (type, classes, modalities).
        hidden: encoder width.
        embed_dim: per-modality representation size.
        encoder: ``auto`` | ``mlp`` | ``gru`` | ``transformer``.
        dropout: dropout rate in encoders and heads.
        modalities: restrict the method to these modalities (default: all in ``spec``).
    """

    name: ClassVar[str] = "base"
    #: True when the method's prediction uses several modalities (False for unimodal).
    multimodal: ClassVar[bool] = True

    def __init__(
        self,
        spec: TaskSpec,
        hidden: int = 128,
        embed_dim: int = 64,
        encoder: str = "auto",
        dropout: float = 0.1,
        modalities: list[str] | tuple[str, ...] | None = None,
        **unused: Any,
    ) -> None:
        super().__init__()
        if unused:
            from infofusion.errors import ConfigError

            raise ConfigError(f"method '{self.name}' got unknown options: {', '.join(sorted(unused))}")
        self.spec = spec
        self.modality_names: tuple[str, ...] = tuple(modalities) if modalities else spec.names
        for m in self.modality_names:
            spec.modality(m)  # KeyError names an unknown modality early
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.encoder_kind = encoder
        self.dropout = dropout
        self.config: dict[str, Any] = {
            "hidden": hidden,
            "embed_dim": embed_dim,
            "encoder": encoder,
            "dropout": dropout,
            "modalities": list(self.modality_names),
        }

    # ---------------------------------------------------------------- helpers
    @property
    def out_dim(self) -> int:
        return self.spec.out_dim

    def make_encoders(self) -> nn.ModuleDict:
        return nn.ModuleDict(
            {
                m: make_encoder(self.spec.modality(m), self.embed_dim, self.encoder_kind, self.hidden, self.dropout)
                for m in self.modality_names
            }
        )

    def make_head(self, in_dim: int) -> nn.Module:
        return nn.Sequential(nn.Linear(in_dim, self.hidden), nn.ReLU(), nn.Dropout(self.dropout), nn.Linear(self.hidden, self.out_dim))

    def encode(self, encoders: nn.ModuleDict, batch: Batch) -> dict[str, torch.Tensor]:
        """name -> ``(B, embed_dim)`` for every modality of the method."""
        return {m: encoders[m](batch.x[m], batch.mask(m)) for m in self.modality_names}

    def shape_prediction(self, out: torch.Tensor) -> torch.Tensor:
        """``(B, 1)`` -> ``(B,)`` for regression; logits unchanged."""
        return out.squeeze(-1) if self.spec.task == "regression" else out

    def task_loss(self, prediction: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy (classification) or MSE (regression)."""
        if self.spec.task == "classification":
            return F.cross_entropy(prediction, y, reduction=reduction)
        return F.mse_loss(prediction, y.to(prediction.dtype), reduction=reduction)

    def forward(self, batch: Batch) -> MethodOutput:  # pragma: no cover - abstract
        raise NotImplementedError
