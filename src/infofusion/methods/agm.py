"""AGM: adaptive gradient modulation (Li et al., ICCV 2023)."""

from __future__ import annotations

from typing import Any

import torch

from infofusion.functional.gradients import agm_coefficients
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods._balancing import BalancingFusion, ScaleGrad
from infofusion.registry import register


@register("method", "agm")
class AGM(BalancingFusion):
    """Joint fusion trained through Shapley mono-modal responses whose gradients are rescaled.

    Modality ``m``'s response ``r_m`` is its Shapley share of the fused output, the absent
    modalities replaced by the encoder's output on a zero input (the reference's "padding"),
    plus an equal share of the all-absent output, so ``sum_m r_m`` is the fused prediction.
    At each training step, from the global-batch mean losses ``L_m`` of the responses and their
    running means ``Lbar_m`` over all earlier steps,
    ``k_m = exp(alpha * min(exp(Lbar_{-m} - Lbar_m) - exp(L_{-m} - L_m), 10))`` (``-m``: mean
    over the other modalities), and the prediction is ``sum_m r_m`` with the gradient reaching
    ``r_m`` multiplied by ``k_m``.

    The coefficient must be known before backward, so it is computed in ``forward`` during
    training from statistics summed across processes with ``trainer.all_reduce`` (the trainer
    is held from ``on_epoch_start`` to ``on_epoch_end`` only); the running means are buffers,
    saved in checkpoints. Regression uses the squared error in place of cross-entropy.

    Args:
        spec: the task.
        alpha: modulation strength (1.0: the reference's default).
        head: ``mlp`` (default, the joint-fusion head) or ``linear``.
        **kw: encoder options (hidden, embed_dim, encoder, dropout, modalities).
    """

    name = "agm"
    uses_responses = True

    def __init__(self, spec: TaskSpec, alpha: float = 1.0, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.alpha = float(alpha)
        n = len(self.modality_names)
        self.register_buffer("running_loss", torch.zeros(n, dtype=torch.float64))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self._reduce: Any = None
        #: the coefficients of the last training step (modality -> k_m)
        self.last_coefficients: dict[str, float] = {}

    def on_epoch_start(self, epoch: int, trainer: Any) -> None:
        self._reduce = trainer.all_reduce

    def on_epoch_end(self, epoch: int, trainer: Any) -> None:
        self._reduce = None

    def coefficients(self, stats: dict[str, torch.Tensor]) -> dict[str, float]:
        """``k_m`` from global-batch sums of :meth:`loss_sums`; updates the running means."""
        names = self.modality_names
        losses = [float(stats[m]) / float(stats["_n"]) for m in names]
        k = agm_coefficients(losses, self.running_loss.tolist(), self.alpha)
        t = int(self.steps)
        cur = torch.tensor(losses, dtype=torch.float64, device=self.running_loss.device)
        self.running_loss.mul_(t / (t + 1)).add_(cur / (t + 1))
        self.steps.add_(1)
        return dict(zip(names, k, strict=True))

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        uni = self.responses(h, self.zero_input_features(batch))
        if self.training and torch.is_grad_enabled():
            local = self.loss_sums(uni, batch.y)
            stats = self._reduce(local) if self._reduce is not None else local
            coeff = self.coefficients(stats)
            self.last_coefficients = coeff
            parts = [ScaleGrad.apply(uni[m], coeff[m]) for m in self.modality_names]
        else:
            parts = list(uni.values())
        pred = torch.stack(parts).sum(dim=0)
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)},
                            unimodal={m: v.detach() for m, v in uni.items()})
