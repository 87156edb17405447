"""What the gradient-balancing methods share (OGM-GE, AGM, MLB, MMPareto); not registered.

:class:`BalancingFusion` holds one encoder per modality and a fusion head over their
concatenation (the joint-fusion architecture, or the papers' single linear layer with
``head="linear"``), and gives the methods the pieces they have in common:

* linear unimodal heads over each encoder's output (MLB, MMPareto);
* each modality's *response*: its Shapley share of the fused output against a baseline
  (feature zeros for OGM-GE, the encoder's output on a zero input for AGM), exact over all
  ``2**M`` coalitions, in closed form for the linear head, where it is OGM-GE's
  ``W_m h_m + b / M``;
* per-modality statistics of a batch (summed true-class probability, summed loss), to be summed
  across processes with ``trainer.all_reduce``;
* access to each encoder's gradients (flat view, scaling in place).

The coefficient arithmetic is in :mod:`infofusion.functional.gradients`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.gradients import coalition_masks, shapley_from_coalitions
from infofusion.interfaces import Batch, TaskSpec
from infofusion.methods.base import FusionMethod

HEADS = ("mlp", "linear")
#: Exact Shapley responses through a non-linear head cost 2**M head evaluations.
MAX_SHAPLEY_MODALITIES = 8


class ScaleGrad(torch.autograd.Function):
    """Identity forward; multiplies the incoming gradient by ``k`` (a float) in backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, k: float) -> torch.Tensor:
        ctx.k = k
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.k, None


class BalancingFusion(FusionMethod):
    """Encoders per modality -> concatenation -> fusion head, plus the balancing helpers.

    Args:
        spec: the task.
        head: ``"mlp"`` (the joint-fusion head: Linear-ReLU-Dropout-Linear, the default, so a
            comparison with ``joint`` differs only in the balancing) or ``"linear"`` (one linear
            layer over the concatenation, the architecture of the source papers).
        **kw: encoder options of :class:`FusionMethod` (hidden, embed_dim, encoder, dropout,
            modalities).

    Raises:
        ConfigError: an unknown head, or fewer than two modalities (balancing compares each
            modality with the others).
    """

    family = "gradient-balancing"
    # a joint fusion head whose encoder gradients are rebalanced
    expresses_synergy = True

    name: ClassVar[str] = "balancing"
    #: whether the method needs Shapley responses through the head (limits M for ``mlp``)
    uses_responses: ClassVar[bool] = False

    def __init__(self, spec: TaskSpec, head: str = "mlp", **kw: Any) -> None:
        super().__init__(spec, **kw)
        if head not in HEADS:
            raise ConfigError(f"{self.name}: head must be one of {', '.join(HEADS)}, got {head!r}")
        n = len(self.modality_names)
        if n < 2:
            raise ConfigError(
                f"{self.name} balances modalities against each other and needs at least 2, got "
                f"{list(self.modality_names)}"
            )
        if self.uses_responses and head == "mlp" and n > MAX_SHAPLEY_MODALITIES:
            raise ConfigError(
                f"{self.name} with head='mlp' computes exact Shapley responses over 2**M coalitions and "
                f"supports at most {MAX_SHAPLEY_MODALITIES} modalities, got {n} ({', '.join(self.modality_names)}); "
                "use head='linear' (closed form) or select modalities"
            )
        self.head_kind = head
        self.encoders = self.make_encoders()
        fused = self.embed_dim * n
        self.head = self.make_head(fused) if head == "mlp" else nn.Linear(fused, self.out_dim)

    # ------------------------------------------------------------------ architecture
    def fuse(self, h: dict[str, torch.Tensor]) -> torch.Tensor:
        """Fused prediction from the encoder outputs (``(B, C)`` or ``(B,)``)."""
        return self.shape_prediction(self.head(torch.cat([h[m] for m in self.modality_names], dim=-1)))

    def make_unimodal_heads(self) -> nn.ModuleDict:
        """One linear classifier (regressor) per modality over its encoder output."""
        return nn.ModuleDict({m: nn.Linear(self.embed_dim, self.out_dim) for m in self.modality_names})

    def fused_and_unimodal(
        self, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The fused prediction, each unimodal head's prediction (heads from
        :meth:`make_unimodal_heads`, in ``self.uni_heads``) and their task losses, ``task`` and
        ``task/<modality>``: the forward pass of the methods that train unimodal heads beside
        the fused one (MLB, MMPareto)."""
        h = self.encode(self.encoders, batch)
        pred = self.fuse(h)
        uni = {m: self.shape_prediction(self.uni_heads[m](h[m])) for m in self.modality_names}
        losses = {"task": self.task_loss(pred, batch.y)}
        losses.update({f"task/{m}": self.task_loss(uni[m], batch.y) for m in self.modality_names})
        return pred, uni, losses

    def responses(self, h: dict[str, torch.Tensor], base: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each modality's Shapley share of the fused output, baseline included.

        The value of a coalition ``S`` is the head's output when the modalities in ``S`` show
        their features ``h`` and the others their baseline ``base``; the response of ``m`` is its
        Shapley value plus ``v(empty) / M``, so the responses sum to the fused output ``v(N)``.
        For the linear head this is ``W_m (h_m - base_m) + (sum_j W_j base_j + b) / M``
        (OGM-GE's ``W_m h_m + b / M`` for a zero baseline), otherwise it is computed exactly
        from the ``2**M`` coalitions.

        Args:
            h: modality -> ``(B, E)`` encoder outputs.
            base: modality -> ``(B, E)`` or ``(1, E)`` baseline features.

        Returns:
            modality -> response in the layout of the prediction.
        """
        names = self.modality_names
        n, e = len(names), self.embed_dim
        if self.head_kind == "linear":
            w = self.head.weight  # (C, M*E)
            blocks = [w[:, i * e : (i + 1) * e] for i in range(n)]
            empty = self.head.bias + sum(base[m] @ blocks[i].T for i, m in enumerate(names))  # (B|1, C)
            out = {m: (h[m] - base[m]) @ blocks[i].T + empty / n for i, m in enumerate(names)}
            return {m: self.shape_prediction(v) for m, v in out.items()}
        masks = coalition_masks(n)
        values = []
        for row in masks.tolist():  # one head pass per coalition keeps memory at (B, M*E)
            parts = [h[m] if row[i] else base[m].expand_as(h[m]) for i, m in enumerate(names)]
            values.append(self.head(torch.cat(parts, dim=-1)))  # (B, C)
        phi = shapley_from_coalitions(torch.stack(values))  # (M, B, C)
        return {m: self.shape_prediction(phi[i]) for i, m in enumerate(names)}

    def zero_input_features(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Each encoder's output on an all-zero input of the batch's shape (padding masks kept):
        AGM's "padded" modality. With standardised inputs zero is the training mean."""
        return {m: self.encoders[m](torch.zeros_like(batch.x[m]), batch.mask(m)) for m in self.modality_names}

    # ------------------------------------------------------------------ batch statistics
    def score_sums(self, outputs: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per modality, the batch sum of the true-class probability (classification) or of the
        squared error (regression) of ``outputs[m]``; plus ``"_n"``, the number of samples.
        Sum them across processes with ``trainer.all_reduce`` before using them."""
        stats: dict[str, torch.Tensor] = {}
        for m, out in outputs.items():
            out = out.detach().float()
            if self.spec.task == "classification":
                stats[m] = torch.softmax(out, dim=-1).gather(1, y.view(-1, 1)).sum()
            else:
                stats[m] = ((out - y.float()) ** 2).sum()
        stats["_n"] = torch.tensor(float(y.shape[0]), device=y.device)
        return stats

    def loss_sums(self, outputs: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per modality, the batch sum of the loss of ``outputs[m]``: cross-entropy with the
        true-class probability clipped at 1e-8 (AGM's reference clip), or squared error; plus
        ``"_n"``."""
        stats: dict[str, torch.Tensor] = {}
        for m, out in outputs.items():
            out = out.detach().float()
            if self.spec.task == "classification":
                p = torch.softmax(out, dim=-1).gather(1, y.view(-1, 1)).clamp_min(1e-8)
                stats[m] = -torch.log(p).sum()
            else:
                stats[m] = F.mse_loss(out, y.float(), reduction="sum")
        stats["_n"] = torch.tensor(float(y.shape[0]), device=y.device)
        return stats

    # ------------------------------------------------------------------ encoder gradients
    def encoder_parameters(self, modality: str, matrices_only: bool = False) -> list[nn.Parameter]:
        """The trainable parameters of ``modality``'s encoder (weight matrices only when
        ``matrices_only``: OGM-GE modulates the reference's convolution kernels, here every
        parameter with two or more dimensions)."""
        return [
            p for p in self.encoders[modality].parameters()
            if p.requires_grad and (not matrices_only or p.ndim >= 2)
        ]

    def encoder_gradient(self, modality: str) -> torch.Tensor:
        """``modality``'s encoder gradient as one flat vector (zeros where a parameter has none)."""
        return torch.cat([
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p in self.encoder_parameters(modality)
        ])

    def scale_encoder_gradients(self, coefficients: dict[str, float], matrices_only: bool = False) -> None:
        """Multiply each modality's encoder gradients by its coefficient, in place."""
        for m, k in coefficients.items():
            for p in self.encoder_parameters(m, matrices_only):
                if p.grad is not None:
                    p.grad.mul_(k)
