"""MMIB: multimodal information bottleneck (Mai et al., IEEE TMM 2022, "Multimodal Information
Bottleneck: Learning Minimal Sufficient Unimodal and Multimodal Representations").

Variational information bottlenecks -- Gaussian encoders with a KL penalty to N(0, I) weighted
by ``beta`` -- on the unimodal representations (L-MIB), on the fused one (E-MIB) or on both
(C-MIB). ``docs/methods/mmib.md``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.fusion import gaussian_kl_standard
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register

BOTTLENECKS = ("fused", "unimodal", "both")


class GaussianBottleneck(nn.Module):
    """``x -> (mu, std)`` with ``std = softplus(s - 5)`` (the reference's parametrisation: the
    code starts nearly deterministic), and a sample ``z = mu + std * eps`` while training."""

    def __init__(self, in_dim: int, latent_dim: int, hidden: int | None = None) -> None:
        super().__init__()
        if hidden is None:
            self.net: nn.Module = nn.Linear(in_dim, 2 * latent_dim)
        else:
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim))

    def forward(self, x: torch.Tensor, sample: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(z, mu, std)``, each ``(B, latent_dim)``."""
        mu, s = self.net(x).chunk(2, dim=-1)
        std = F.softplus(s - 5.0)
        z = mu + std * torch.randn_like(std) if sample else mu
        return z, mu, std


@register("method", "mmib")
class MMIB(FusionMethod):
    """Variational information bottleneck on unimodal and/or fused representations.

    ``bottleneck="unimodal"``: each modality's encoding passes a Gaussian bottleneck ``z_m``
    with its own head and task loss (``uni/<m>``) and KL (``kl/<m>``); the fused head reads the
    concatenated ``z_m``. ``"fused"``: the concatenated encodings pass one bottleneck ``z``
    (``kl/fused``) before a linear head (default). ``"both"``: both. KL terms are weighted by
    ``beta``; latents are their means at evaluation unless ``sample_eval``.

    Args:
        spec: the task.
        bottleneck: ``fused`` (default), ``unimodal`` or ``both``.
        beta: weight of every KL term (sum over latent dimensions, mean over the batch).
        latent_dim: size of each latent (default: ``embed_dim``).
        unimodal_weight: weight of each unimodal head's task loss (``unimodal``/``both``).
        sample_eval: sample the latents at evaluation too.
    """

    family = "fused-bottleneck"
    # the fused bottleneck reads the concatenation of all modalities
    expresses_synergy = True

    name = "mmib"

    def __init__(
        self,
        spec: TaskSpec,
        bottleneck: str = "fused",
        beta: float = 1e-3,
        latent_dim: int | None = None,
        unimodal_weight: float = 1.0,
        sample_eval: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(spec, **kw)
        if bottleneck not in BOTTLENECKS:
            raise ConfigError(f"mmib: bottleneck must be one of {', '.join(BOTTLENECKS)}, got {bottleneck!r}")
        for opt, value in (("beta", beta), ("unimodal_weight", unimodal_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"mmib: {opt} must be a finite number >= 0, got {value!r}")
        if latent_dim is not None and (isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1):
            raise ConfigError(f"mmib: latent_dim must be an integer >= 1, got {latent_dim!r}")
        self.bottleneck, self.beta, self.unimodal_weight = bottleneck, float(beta), float(unimodal_weight)
        self.latent_dim = latent_dim or self.embed_dim
        self.sample_eval = bool(sample_eval)
        self.encoders = self.make_encoders()
        n = len(self.modality_names)
        self.per_modality = bottleneck in ("both", "unimodal")
        self.fused_bottleneck = bottleneck in ("both", "fused")
        if self.per_modality:
            self.uni_ib = nn.ModuleDict({m: GaussianBottleneck(self.embed_dim, self.latent_dim) for m in self.modality_names})
            self.uni_heads = nn.ModuleDict({m: nn.Linear(self.latent_dim, self.out_dim) for m in self.modality_names})
        fused_in = n * (self.latent_dim if self.per_modality else self.embed_dim)
        if self.fused_bottleneck:
            self.fused_ib = GaussianBottleneck(fused_in, self.latent_dim, hidden=self.hidden)
            self.head: nn.Module = nn.Linear(self.latent_dim, self.out_dim)
        else:
            self.head = self.make_head(fused_in)

    def loss_weights(self) -> dict[str, float]:
        weights = {f"kl/{m}": self.beta for m in self.modality_names}
        weights.update({f"uni/{m}": self.unimodal_weight for m in self.modality_names})
        weights["kl/fused"] = self.beta
        return weights

    def forward(self, batch: Batch) -> MethodOutput:
        sample = self.training or self.sample_eval
        h = self.encode(self.encoders, batch)  # m -> (B, E)
        losses: dict[str, torch.Tensor] = {}
        diagnostics: dict[str, torch.Tensor] = {}
        uni: dict[str, torch.Tensor] = {}
        if self.per_modality:
            parts = []
            for m in self.modality_names:
                z, mu, std = self.uni_ib[m](h[m], sample)
                kl = gaussian_kl_standard(mu, std)  # (B,)
                uni[m] = self.shape_prediction(self.uni_heads[m](z))
                losses[f"uni/{m}"] = self.task_loss(uni[m], batch.y)
                losses[f"kl/{m}"] = kl.mean()
                diagnostics[f"kl/{m}"] = kl.detach()
                parts.append(z)
        else:
            parts = [h[m] for m in self.modality_names]
        fused = torch.cat(parts, dim=-1)
        if self.fused_bottleneck:
            z, mu, std = self.fused_ib(fused, sample)
            kl = gaussian_kl_standard(mu, std)
            losses["kl/fused"] = kl.mean()
            diagnostics["kl/fused"] = kl.detach()
            fused = z
        pred = self.shape_prediction(self.head(fused))
        losses["task"] = self.task_loss(pred, batch.y)
        return MethodOutput(pred, losses, diagnostics, uni)
