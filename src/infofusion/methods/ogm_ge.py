"""OGM-GE: on-the-fly gradient modulation with generalisation enhancement (Peng et al., CVPR 2022)."""

from __future__ import annotations

from typing import Any

import torch

from infofusion.functional.gradients import ogm_coefficients
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods._balancing import BalancingFusion
from infofusion.registry import register


@register("method", "ogm_ge")
class OGMGE(BalancingFusion):
    """Joint fusion whose leading modality's encoder gradients are damped each step, plus noise.

    After backward, with ``s_m`` the global-batch sum of the true-class probability of modality
    ``m``'s response (its Shapley share of the fused logits; ``W_m h_m + b / M`` for the linear
    head, as in the paper), ``rho_m = s_m / mean_{j != m} s_j``, and every weight matrix of
    encoder ``m`` gets ``g <- k_m g + N(0, std(g)^2)`` with ``k_m = 1 - tanh(alpha rho_m)`` when
    ``rho_m > 1`` and 1 otherwise (the noise, "generalisation enhancement", on every encoder;
    ``noise=False`` gives plain OGM). Regression: ``s_m`` is the inverse mean squared error of
    the response. Only the fused loss is trained.

    Args:
        spec: the task.
        alpha: modulation strength (0.8: the value of the reference's CREMA-D runs).
        noise: add the Gaussian gradient noise (GE).
        head: ``mlp`` (default, the joint-fusion head) or ``linear`` (the paper's).
        **kw: encoder options (hidden, embed_dim, encoder, dropout, modalities).
    """

    name = "ogm_ge"
    uses_responses = True

    def __init__(self, spec: TaskSpec, alpha: float = 0.8, noise: bool = True, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.alpha = float(alpha)
        self.noise = bool(noise)
        #: the coefficients of the last step (modality -> k_m)
        self.last_coefficients: dict[str, float] = {}

    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)
        pred = self.fuse(h)
        with torch.no_grad():  # statistics only: the responses carry no gradient
            zeros = {m: torch.zeros_like(v[:1]) for m, v in h.items()}
            uni = self.responses({m: v.detach() for m, v in h.items()}, zeros)
        return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)}, unimodal=uni)

    def coefficients(self, stats: dict[str, torch.Tensor]) -> dict[str, float]:
        """``k_m`` from global-batch sums of :meth:`score_sums`."""
        names = self.modality_names
        if self.spec.task == "classification":
            scores = [float(stats[m]) for m in names]
        else:  # inverse mean squared error
            scores = [float(stats["_n"]) / max(float(stats[m]), 1e-12) for m in names]
        return dict(zip(names, ogm_coefficients(scores, self.alpha), strict=True))

    def after_backward(self, trainer: Any, batch: Batch, out: MethodOutput) -> None:
        stats = trainer.all_reduce(self.score_sums(out.unimodal, batch.y))  # global-batch sums
        coeff = self.coefficients(stats)
        self.last_coefficients = coeff
        for m in self.modality_names:
            for p in self.encoder_parameters(m, matrices_only=True):
                if p.grad is None:
                    continue
                std = p.grad.std()  # of the unmodulated gradient, as in the reference
                p.grad.mul_(coeff[m])
                if self.noise:
                    draw = torch.randn(p.grad.shape, generator=trainer.shared_generator)
                    p.grad.add_(draw.to(p.grad.device) * (std + 1e-8))
