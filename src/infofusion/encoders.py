"""Per-modality encoders: MLP for vectors, GRU or Transformer for padded sequences.

Every encoder maps one modality to a pooled ``(B, out_dim)`` representation; sequence encoders
honour the padding mask: padded positions are selected away before any computation
(:mod:`infofusion.functional.pooling`), so whatever the padding holds -- zeros, ``inf``, NaN --
the output and its gradients are those of zero padding.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.pooling import masked_mean, select_valid
from infofusion.interfaces import ModalitySpec

__all__ = [
    "ENCODERS",
    "GRUEncoder",
    "MLPEncoder",
    "TransformerEncoder",
    "make_encoder",
    "masked_mean",
    "mlp",
]


def mlp(in_dim: int, hidden: int, out_dim: int, layers: int = 2, dropout: float = 0.1) -> nn.Sequential:
    """``layers`` Linear layers with ReLU and dropout between them (none after the last)."""
    mods: list[nn.Module] = []
    d = in_dim
    for _ in range(max(layers - 1, 0)):
        mods += [nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout)]
        d = hidden
    mods.append(nn.Linear(d, out_dim))
    return nn.Sequential(*mods)


class MLPEncoder(nn.Module):
    """Vector modality ``(B, D)`` -> ``(B, out_dim)``; a sequence is mean-pooled first."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.net = mlp(in_dim, hidden, out_dim, layers, dropout)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim == 3:
            x = masked_mean(x, mask)
        return self.act(self.net(x))


class GRUEncoder(nn.Module):
    """Sequence ``(B, T, D)`` -> last valid hidden state of a (bi)GRU, projected to out_dim."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 64, dropout: float = 0.1, bidirectional: bool = True):
        super().__init__()
        self.gru = nn.GRU(in_dim, hidden, batch_first=True, bidirectional=bidirectional)
        self.proj = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden * (2 if bidirectional else 1), out_dim), nn.ReLU())

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            _, h = self.gru(x)
        else:
            lengths = mask.sum(dim=1).clamp_min(1).cpu()
            # packing gathers the valid steps only: the padding is never read
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, h = self.gru(packed)
        # h: (layers * directions, B, H) -> (B, directions * H)
        h = h.transpose(0, 1).reshape(x.shape[0], -1)
        return self.proj(h)


class TransformerEncoder(nn.Module):
    """Sequence ``(B, T, D)`` -> masked mean of a small Transformer encoder's outputs."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 64, heads: int = 4, layers: int = 1, dropout: float = 0.1, max_len: int = 4096):
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, hidden, 2) * (-math.log(10000.0) / hidden))
        pe = torch.zeros(max_len, hidden)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div[: hidden // 2])
        self.register_buffer("pe", pe, persistent=False)
        layer = nn.TransformerEncoderLayer(hidden, heads, hidden * 2, dropout, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.Linear(hidden, out_dim), nn.ReLU())

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        # padded steps are keys nobody attends to, but attention still multiplies their values
        # by a zero weight: they must be finite, so they are selected away first
        h = self.inp(select_valid(x, mask)) + self.pe[: x.shape[1]]  # (B, T, H)
        h = self.enc(h, src_key_padding_mask=None if mask is None else ~mask)
        return self.out(masked_mean(h, mask))


ENCODERS = {"mlp": MLPEncoder, "gru": GRUEncoder, "transformer": TransformerEncoder}


def make_encoder(spec: ModalitySpec, out_dim: int, kind: str = "auto", hidden: int = 128, dropout: float = 0.1) -> nn.Module:
    """Encoder for one modality: ``auto`` picks MLP for vectors and GRU for sequences."""
    if kind == "auto":
        kind = "gru" if spec.is_sequence else "mlp"
    if kind not in ENCODERS:
        raise ConfigError(f"unknown encoder '{kind}' for modality '{spec.name}' (choose from {', '.join(ENCODERS)})")
    if kind == "mlp":
        return MLPEncoder(spec.dim, out_dim, hidden=hidden, dropout=dropout)
    if kind == "gru":
        return GRUEncoder(spec.dim, out_dim, hidden=max(hidden // 2, 16), dropout=dropout)
    return TransformerEncoder(spec.dim, out_dim, hidden=max(hidden // 2, 16), dropout=dropout)
