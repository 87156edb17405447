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
        regression_loss: ``mse`` or ``cs_ib``, the Cauchy–Schwarz information bottleneck
            (:func:`infofusion.functional.cauchy_schwarz.cs_ib_loss`): the prediction term
            :math:`D_{CS}(p(y|x); q(\\hat y|x))` conditioned on the batch's inputs (sequences
            mean-pooled over valid steps) plus ``cs_ib_beta`` times the normalised CS-QMI of the
            inputs with the representation (the concatenated outputs of :meth:`encode`).
            Regression only; per-sample losses (``reduction="none"``) stay squared errors.
        cs_ib_beta: weight of the compression term of ``cs_ib``.
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
        regression_loss: str = "mse",
        cs_ib_beta: float = 0.01,
        **unused: Any,
    ) -> None:
        super().__init__()
        from infofusion.errors import ConfigError

        if unused:
            raise ConfigError(f"method '{self.name}' got unknown options: {', '.join(sorted(unused))}")
        if regression_loss not in ("mse", "cs_ib"):
            raise ConfigError(f"option 'regression_loss' must be 'mse' or 'cs_ib', got {regression_loss!r}")
        if regression_loss == "cs_ib" and spec.task != "regression":
            raise ConfigError(f"regression_loss='cs_ib' needs a regression task, not {spec.task}")
        if not (isinstance(cs_ib_beta, (int, float)) and cs_ib_beta >= 0):
            raise ConfigError(f"option 'cs_ib_beta' must be a number >= 0, got {cs_ib_beta!r}")
        self.regression_loss = regression_loss
        self.cs_ib_beta = float(cs_ib_beta)
        self._ib_context: dict[str, Any] = {}
        if regression_loss == "cs_ib":  # the loss conditions on the inputs of the current batch
            self.register_forward_pre_hook(lambda mod, args: setattr(mod, "_ib_context", {"batch": args[0]}))
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
        if regression_loss != "mse":
            self.config.update(regression_loss=regression_loss, cs_ib_beta=self.cs_ib_beta)

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
        out = {m: encoders[m](batch.x[m], batch.mask(m)) for m in self.modality_names}
        if self.regression_loss == "cs_ib":
            self._ib_context["representation"] = torch.cat([out[m] for m in out], dim=-1)
        return out

    def shape_prediction(self, out: torch.Tensor) -> torch.Tensor:
        """``(B, 1)`` -> ``(B,)`` for regression; logits unchanged."""
        return out.squeeze(-1) if self.spec.task == "regression" else out

    def task_loss(self, prediction: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy (classification), MSE or the CS-IB objective (regression)."""
        if self.spec.task == "classification":
            return F.cross_entropy(prediction, y, reduction=reduction)
        if self.regression_loss == "cs_ib" and reduction == "mean":
            return self._cs_ib_loss(prediction, y.to(prediction.dtype))
        return F.mse_loss(prediction, y.to(prediction.dtype), reduction=reduction)

    def _cs_ib_loss(self, prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        from infofusion.encoders import masked_mean
        from infofusion.functional.cauchy_schwarz import cs_ib_loss

        batch = self._ib_context.get("batch")
        rep = self._ib_context.get("representation")
        if batch is None:
            raise RuntimeError("cs_ib: task_loss called outside forward()")  # pragma: no cover
        if rep is None and self.cs_ib_beta > 0:
            from infofusion.errors import ConfigError

            raise ConfigError(
                f"method '{self.name}' does not compute its representation with FusionMethod.encode, "
                "which the compression term of regression_loss='cs_ib' needs; use cs_ib_beta=0"
            )
        parts = [
            masked_mean(batch.x[m], batch.mask(m)) if batch.x[m].ndim == 3 else batch.x[m]
            for m in self.modality_names
        ]
        x = torch.cat([p.reshape(p.shape[0], -1) for p in parts], dim=-1).to(prediction.dtype)
        t = x if rep is None else rep
        loss, _ = cs_ib_loss(x, t, y, prediction, beta=self.cs_ib_beta)
        return loss

    def info_plane_layers(self) -> list[str]:
        """Submodule names the information-plane analysis measures for ``--info-plane default``
        (see :mod:`infofusion.training.info_plane`); none unless a method declares them."""
        return []

    def forward(self, batch: Batch) -> MethodOutput:  # pragma: no cover - abstract
        raise NotImplementedError
