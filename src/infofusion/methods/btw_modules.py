"""The modules BTW is built from: fusion backbones, unimodal models, the record of updates.

Fusion backbones take the batch and a ``(B, M)`` weight matrix; modality ``m``'s features on
sample ``i`` are multiplied by ``w[i, m]`` before anything mixes the modalities.

* :class:`ConcatFusion` (default): encoder -> projection (linear by default; the reference's
  Linear-ReLU-Linear as an option) -> ``x w`` -> concatenation -> MLP head.
* :class:`CrossModalTransformer`: every modality becomes tokens (one per valid time step of a
  sequence modality, one for a vector modality), scaled by its weight, tagged with a learnt
  modality embedding, and a Transformer encoder attends across all tokens of all modalities
  (padding is masked out of attention and pooling); the per-modality means of the outputs are
  concatenated into the head. The reference fuses modality vectors with a cross-modal
  Transformer of sparse mixture-of-experts layers; this is its dense, sequence-aware analogue.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from infofusion.encoders import make_encoder, masked_mean, mlp
from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, ModalitySpec

__all__ = ["BACKBONES", "PROJECTIONS", "ConcatFusion", "CrossModalTransformer", "UnimodalModel", "UpdateLog", "projection"]


PROJECTIONS: tuple[str, ...] = ("linear", "mlp", "none")


def projection(kind: str, in_dim: int, out_dim: int) -> nn.Module:
    """Modality projection after the encoder: ``linear``, ``mlp`` (the reference's
    Linear - ReLU - Linear) or ``none``."""
    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU(), nn.Linear(out_dim, out_dim))
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"btw: projection must be one of {', '.join(PROJECTIONS)}, got {kind!r}")


class ConcatFusion(nn.Module):
    """Encoders + projections; weighted features concatenated into an MLP head.

    Args:
        specs: the fused modalities.
        embed_dim: encoder output and projection size.
        hidden: encoder and head width.
        out_dim: classes (1 for regression).
        encoder: encoder kind (``auto``: MLP for vectors, GRU for sequences).
        dropout: dropout in encoders and head.
        proj: projection kind (see :func:`projection`).
    """

    def __init__(
        self, specs: list[ModalitySpec], embed_dim: int, hidden: int, out_dim: int, encoder: str, dropout: float, proj: str = "linear"
    ) -> None:
        super().__init__()
        self.names = [s.name for s in specs]
        self.encoders = nn.ModuleDict({s.name: make_encoder(s, embed_dim, encoder, hidden, dropout) for s in specs})
        self.projections = nn.ModuleDict({s.name: projection(proj, embed_dim, embed_dim) for s in specs})
        self.head = mlp(embed_dim * len(specs), hidden, out_dim, layers=2, dropout=dropout)

    def features(self, batch: Batch) -> dict[str, torch.Tensor]:
        """name -> ``(B, embed_dim)`` projected features, before weighting."""
        return {m: self.projections[m](self.encoders[m](batch.x[m], batch.mask(m))) for m in self.names}

    def forward(self, batch: Batch, weights: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(B, out_dim)`` output and the unweighted features (for unimodal branches)."""
        h = self.features(batch)
        z = torch.cat([h[m] * weights[:, j : j + 1] for j, m in enumerate(self.names)], dim=-1)  # (B, M*E)
        return self.head(z), h


class CrossModalTransformer(nn.Module):
    """Tokens of every modality, weighted per sample, mixed by self-attention across modalities.

    Args:
        specs: the fused modalities (vectors and/or padded sequences).
        embed_dim: token width ``d`` (divisible by ``heads``).
        hidden: width of vector-modality token encoders and of the head.
        out_dim: classes (1 for regression).
        heads: attention heads.
        layers: Transformer encoder layers.
        dropout: dropout rate.
    """

    def __init__(self, specs: list[ModalitySpec], embed_dim: int, hidden: int, out_dim: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        if embed_dim % heads:
            raise ConfigError(f"btw: embed_dim={embed_dim} must be divisible by heads={heads} for fusion='transformer'")
        self.names = [s.name for s in specs]
        self.sequence = {s.name: s.is_sequence for s in specs}
        self.inputs = nn.ModuleDict(
            {s.name: nn.Linear(s.dim, embed_dim) if s.is_sequence else mlp(s.dim, hidden, embed_dim, 2, dropout) for s in specs}
        )
        self.positions = nn.ParameterDict(
            {s.name: nn.Parameter(torch.zeros(int(s.seq_len), embed_dim)) for s in specs if s.is_sequence}  # type: ignore[arg-type]
        )
        self.modality_embedding = nn.Parameter(torch.zeros(len(specs), embed_dim))
        nn.init.normal_(self.modality_embedding, std=0.02)
        layer = nn.TransformerEncoderLayer(embed_dim, heads, 2 * embed_dim, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = mlp(embed_dim * len(specs), hidden, out_dim, layers=2, dropout=dropout)

    def tokens(self, batch: Batch) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """name -> ``(B, T_m, d)`` tokens (``T_m = 1`` for vectors) and ``(B, T_m)`` valid masks."""
        toks, masks = {}, {}
        for m in self.names:
            x = batch.x[m]
            if self.sequence[m]:
                t = self.inputs[m](x) + self.positions[m][: x.shape[1]]  # (B, T, d)
                mask = batch.mask(m)
                mask = torch.ones(t.shape[:2], dtype=torch.bool, device=t.device) if mask is None else mask
            else:
                t = self.inputs[m](x.reshape(x.shape[0], -1)).unsqueeze(1)  # (B, 1, d)
                mask = torch.ones(t.shape[:2], dtype=torch.bool, device=t.device)
            toks[m], masks[m] = t, mask
        return toks, masks

    def forward(self, batch: Batch, weights: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        toks, masks = self.tokens(batch)
        parts = [toks[m] * weights[:, j, None, None] + self.modality_embedding[j] for j, m in enumerate(self.names)]
        seq = torch.cat(parts, dim=1)  # (B, sum T_m, d)
        valid = torch.cat([masks[m] for m in self.names], dim=1)  # (B, sum T_m)
        out = self.encoder(seq, src_key_padding_mask=~valid)
        pooled, start = [], 0
        for m in self.names:
            t = toks[m].shape[1]
            pooled.append(masked_mean(out[:, start : start + t], masks[m]))
            start += t
        # unweighted per-modality summaries, for unimodal branches
        features = {m: masked_mean(toks[m], masks[m]) for m in self.names}
        return self.head(torch.cat(pooled, dim=-1)), features


BACKBONES: tuple[str, ...] = ("concat", "transformer")


class UnimodalModel(nn.Module):
    """A separately trained unimodal model: encoder -> head."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.head(self.encoder(x, mask))


class UpdateLog(nn.Module):
    """What the weight updates did (one row per update) plus the smoothing state, saved with
    the method's state (``get_extra_state``) so a resumed run has the full record.

    Loading a state whose rows are a prefix of the current ones keeps the current rows: model
    selection restores an earlier epoch's weights, but the record of updates stays complete.
    """

    def __init__(self, smoothing: float) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.smoothing = float(smoothing)
        self.best = math.inf

    def get_extra_state(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "smoothing": self.smoothing, "best": self.best}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        rows = list(state["rows"])
        if len(rows) < len(self.rows) and rows == self.rows[: len(rows)]:
            return
        self.rows, self.smoothing, self.best = rows, float(state["smoothing"]), float(state["best"])
