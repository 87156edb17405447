"""MLB: multi-loss balanced gradient modulation (Kontras et al., BMVC 2024)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from infofusion.errors import ConfigError
from infofusion.functional.gradients import mlb_coefficients, others_mean
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods._balancing import BalancingFusion
from infofusion.registry import register


@register("method", "mlb")
class MLB(BalancingFusion):
    """Joint fusion with unimodal heads (multi-loss) and encoder gradients scaled by lag.

    Loss: the fused loss plus ``unimodal_weight`` times each unimodal head's loss. After
    backward, with ``s_m`` the global-batch mean true-class probability of modality ``m``'s
    unimodal head, ``r_m = mean_{j != m} s_j / s_m`` (``r_m > 1``: ``m`` lags behind) and
    encoder ``m``'s gradients are multiplied by
    ``k_m = 1 + (beta_m - 1) tanh(alpha (r_m - 1))`` if ``r_m > 1``, else
    ``1 + tanh(alpha (r_m - 1))`` (the two coincide for ``beta_m = 2``). Regression: ``s_m`` is
    the mean squared error and ``r_m = s_m / mean_{j != m} s_j``.

    Args:
        spec: the task.
        alpha: steepness (0.8: the reference's configurations).
        beta: largest boost of a lagging modality, one number or a mapping modality -> number
            (2: the reference's default mode).
        unimodal_weight: weight of each unimodal loss (1: the reference's multi-loss weights).
        head: ``mlp`` (default, the joint-fusion head) or ``linear``.
        **kw: encoder options (hidden, embed_dim, encoder, dropout, modalities).
    """

    name = "mlb"

    def __init__(
        self,
        spec: TaskSpec,
        alpha: float = 0.8,
        beta: float | Mapping[str, float] = 2.0,
        unimodal_weight: float = 1.0,
        **kw: Any,
    ) -> None:
        super().__init__(spec, **kw)
        self.alpha = float(alpha)
        if isinstance(beta, Mapping):
            unknown = sorted(set(beta) - set(self.modality_names))
            missing = sorted(set(self.modality_names) - set(beta))
            if unknown or missing:
                raise ConfigError(
                    f"mlb: beta must give one value per modality {list(self.modality_names)}; "
                    f"unknown {unknown}, missing {missing}"
                )
            self.beta = {m: float(beta[m]) for m in self.modality_names}
        else:
            self.beta = {m: float(beta) for m in self.modality_names}
        if any(b < 1.0 for b in self.beta.values()):
            raise ConfigError(f"mlb: beta must be >= 1 (a boost), got {self.beta}")
        if not unimodal_weight > 0:
            raise ConfigError(f"mlb: unimodal_weight must be > 0 (the unimodal heads drive the coefficients), got {unimodal_weight}")
        self.unimodal_weight = float(unimodal_weight)
        self.uni_heads = self.make_unimodal_heads()
        #: the coefficients of the last step (modality -> k_m)
        self.last_coefficients: dict[str, float] = {}

    def forward(self, batch: Batch) -> MethodOutput:
        pred, uni, losses = self.fused_and_unimodal(batch)
        return MethodOutput(pred, losses, unimodal=uni)

    def loss_weights(self) -> dict[str, float]:
        return {f"task/{m}": self.unimodal_weight for m in self.modality_names}

    def coefficients(self, stats: dict[str, torch.Tensor]) -> dict[str, float]:
        """``k_m`` from global-batch sums of :meth:`score_sums`."""
        names = self.modality_names
        s = [float(stats[m]) / float(stats["_n"]) for m in names]
        if self.spec.task == "classification":  # lag: the others' score over one's own
            ratios = [o / max(v, 1e-12) for v, o in zip(s, others_mean(s), strict=True)]
        else:  # lag: one's own error over the others'
            ratios = [v / max(o, 1e-12) for v, o in zip(s, others_mean(s), strict=True)]
        k = mlb_coefficients(ratios, self.alpha, [self.beta[m] for m in names])
        return dict(zip(names, k, strict=True))

    def after_backward(self, trainer: Any, batch: Batch, out: MethodOutput) -> None:
        stats = trainer.all_reduce(self.score_sums(out.unimodal, batch.y))  # global-batch sums
        coeff = self.coefficients(stats)
        self.last_coefficients = coeff
        self.scale_encoder_gradients(coeff)
