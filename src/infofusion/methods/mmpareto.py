"""MMPareto: per-encoder Pareto combination of multimodal and unimodal gradients (Wei & Hu, ICML 2024)."""

from __future__ import annotations

from typing import Any

import torch

from infofusion.functional.gradients import pareto_combine
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods._balancing import BalancingFusion
from infofusion.registry import register


@register("method", "mmpareto")
class MMPareto(BalancingFusion):
    """Joint fusion with unimodal heads; each encoder's two gradients combined without conflict.

    Loss: the fused loss plus each unimodal head's loss. For encoder ``m`` let ``g_mm`` be the
    gradient of the fused loss and ``g_u`` that of ``m``'s unimodal loss (global-batch means,
    over all the encoder's parameters). If their cosine is positive the update direction is
    ``g_mm + g_u`` (weights 1/2, 1/2, times 2); otherwise the weights ``(c, 1 - c)`` of the
    min-norm point of their convex hull (MGDA's closed form for two gradients), giving
    ``2 (c g_mm + (1 - c) g_u)``. Each parameter tensor's combined gradient is then rescaled up
    to the norm of its original gradient ``g_mm + g_u`` when smaller, and multiplied by
    ``gamma``. The heads keep their ordinary gradients.

    ``g_u`` is computed in ``forward`` during training (a backward pass of the unimodal losses
    alone into the encoders, which does not touch ``.grad``) and averaged across processes with
    ``trainer.all_reduce`` in ``after_backward``; ``g_mm`` is the engine's gradient minus it.

    Args:
        spec: the task.
        gamma: factor on every encoder gradient after the combination (1.5 in the reference code).
        head: ``mlp`` (default, the joint-fusion head) or ``linear`` (the paper's).
        **kw: encoder options (hidden, embed_dim, encoder, dropout, modalities).
    """

    name = "mmpareto"

    def __init__(self, spec: TaskSpec, gamma: float = 1.5, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self.gamma = float(gamma)
        self.uni_heads = self.make_unimodal_heads()
        self._uni_grads: dict[str, list[torch.Tensor]] = {}
        #: per modality, the last step's ``(w_multi, w_uni, cosine)``
        self.last_weights: dict[str, tuple[float, float, float]] = {}

    def forward(self, batch: Batch) -> MethodOutput:
        pred, uni, losses = self.fused_and_unimodal(batch)
        self._uni_grads = {}
        if self.training and torch.is_grad_enabled():
            # each unimodal loss reaches only its own encoder: one pass gives every g_u
            params = {m: self.encoder_parameters(m) for m in self.modality_names}
            flat = [p for m in self.modality_names for p in params[m]]
            uni_total = sum(losses[f"task/{m}"] for m in self.modality_names)
            grads = torch.autograd.grad(uni_total, flat, retain_graph=True, allow_unused=True)
            it = iter(grads)
            for m in self.modality_names:
                self._uni_grads[m] = [
                    g.detach() if g is not None else torch.zeros_like(p)
                    for p, g in zip(params[m], [next(it) for _ in params[m]], strict=True)
                ]
        return MethodOutput(pred, losses, unimodal=uni)

    def after_backward(self, trainer: Any, batch: Batch, out: MethodOutput) -> None:
        if not self._uni_grads:
            return
        names = self.modality_names
        local = {m: torch.cat([g.reshape(-1) for g in self._uni_grads[m]]) for m in names}
        g_uni_flat = trainer.all_reduce(local, "mean")  # the engine's gradients are means too
        self._uni_grads = {}
        weights = {}
        for m in names:
            params = self.encoder_parameters(m)
            sizes = [p.numel() for p in params]
            total = self.encoder_gradient(m)
            g_uni = g_uni_flat[m].to(total.dtype)
            g_mm = total - g_uni
            shapes = [p.shape for p in params]
            combined, weights[m] = pareto_combine(
                [g.view(s) for g, s in zip(g_mm.split(sizes), shapes, strict=True)],
                [g.view(s) for g, s in zip(g_uni.split(sizes), shapes, strict=True)],
                self.gamma,
            )
            for p, grad in zip(params, combined, strict=True):
                if p.grad is None:
                    p.grad = grad.clone()
                else:
                    p.grad.copy_(grad)
        self.last_weights = weights
