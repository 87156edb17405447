"""Building blocks of DMIL (:mod:`infofusion.methods.dmil`): variational heads, the
intra-modality and consistency decompositions, the synergy fusion and the gate.

Each block is a plain ``nn.Module`` without losses; the method wires them and computes the loss
terms from what they return, so each block can be tested (and reused) on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from infofusion.encoders import mlp
from infofusion.functional.decomposition import reparameterize, subset_products, subsets

#: log-variances are clamped to this range (exp(+-8) spans 3e-4 .. 3e3): no overflow early on
LOGVAR_RANGE = (-8.0, 8.0)


class Posterior(NamedTuple):
    """A component produced by a :class:`VariationalHead`.

    Attributes:
        value: ``(B, D)`` what flows on: a reparameterised sample in training, the mean in
            evaluation (always the mean for a plain head).
        mu: ``(B, D)`` the mean (the output itself for a plain head).
        logvar: ``(B, D)`` log-variance, or ``None`` for a plain (non-variational) head.
    """

    value: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor | None


class VariationalHead(nn.Module):
    """``x -> q(c | x) = N(mu(x), diag(exp(logvar(x))))`` with linear ``mu`` and ``logvar``.

    ``variational=False`` is the ablation "plain FC layer": only ``mu`` exists, and the output is
    deterministic in training and evaluation.

    Args:
        in_dim: input size.
        out_dim: component size ``D``.
        variational: Gaussian posterior (True) or a plain linear layer (False).
    """

    def __init__(self, in_dim: int, out_dim: int, variational: bool = True, hidden: int | None = None) -> None:
        super().__init__()
        self.variational = variational
        self.body: nn.Module = nn.Identity()
        if hidden:
            self.body = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
            in_dim = hidden
        self.mu = nn.Linear(in_dim, out_dim)
        self.logvar = nn.Linear(in_dim, out_dim) if variational else None

    def forward(self, x: torch.Tensor) -> Posterior:
        x = self.body(x)
        mu = self.mu(x)  # (B, D)
        if self.logvar is None:
            return Posterior(mu, mu, None)
        logvar = self.logvar(x).clamp(*LOGVAR_RANGE)
        value = reparameterize(mu, logvar) if self.training else mu
        return Posterior(value, mu, logvar)


class IntraDecomposition(nn.Module):
    """ID of one modality: ``Z_m -> (M_m, N_m)`` and the decoder ``[M_m; N_m] -> target``.

    ``M_m`` (intra) is trained to predict the label on its own (by a head the method owns),
    ``N_m`` (inter) keeps the rest: the reconstruction of the modality from ``[M_m; N_m]`` is
    what stops the KL term from emptying ``N_m``.

    Args:
        in_dim: size of ``Z_m``.
        dim: size of ``M_m`` and ``N_m``.
        target_dim: size of the reconstruction target.
        hidden: decoder width.
        variational: Gaussian posteriors or plain linear layers.
    """

    def __init__(self, in_dim: int, dim: int, target_dim: int, hidden: int, variational: bool) -> None:
        super().__init__()
        self.intra = VariationalHead(in_dim, dim, variational)
        self.inter = VariationalHead(in_dim, dim, variational)
        self.decoder = mlp(2 * dim, hidden, target_dim, layers=2, dropout=0.0)

    def forward(self, z: torch.Tensor) -> tuple[Posterior, Posterior]:
        return self.intra(z), self.inter(z)

    def reconstruct(self, m: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        """``(B, D), (B, D) -> (B, target_dim)``."""
        return self.decoder(torch.cat([m, n], dim=-1))


class ConsistencyDecomposition(nn.Module):
    """CD: from each ``M_m`` a redundant part ``R_m`` and a unique part ``U_m``.

    ``R_m = f_R,m(M_m)`` and ``U_m = f_U,m(M_m)`` are variational heads per modality; the
    method aligns the ``R_m`` with each other and uses ``R = mean_m R_m``. The ``R`` heads are
    per modality, not one shared head, because the ``M_m`` of different modalities come from
    different encoders with unrelated coordinates (frozen in stage 2): one shared linear map
    could align them only by chance.

    Args:
        names: modality names.
        in_dim: size of each ``M_m``.
        dim: size of ``R_m`` and ``U_m``.
        variational: Gaussian posteriors or plain linear layers.
    """

    def __init__(self, names: Sequence[str], in_dim: int, dim: int, variational: bool, hidden: int | None = None) -> None:
        super().__init__()
        self.names = tuple(names)
        self.redundant = nn.ModuleDict({m: VariationalHead(in_dim, dim, variational, hidden) for m in self.names})
        self.unique = nn.ModuleDict({m: VariationalHead(in_dim, dim, variational, hidden) for m in self.names})

    def forward(
        self, intra: dict[str, torch.Tensor]
    ) -> tuple[dict[str, Posterior], dict[str, Posterior], torch.Tensor]:
        """``{m: (B, in_dim)} -> ({m: R_m}, {m: U_m}, R (B, dim))``."""
        r = {m: self.redundant[m](intra[m]) for m in self.names}
        u = {m: self.unique[m](intra[m]) for m in self.names}
        shared = torch.stack([r[m].value for m in self.names]).mean(dim=0)  # (B, dim)
        return r, u, shared


class SynergyFusion(nn.Module):
    """``S`` from the inter-modality parts: ``p_m = W_m N_m + b_m`` for each modality, the
    features ``[p_1; ...; p_M; products of the p over every subset of 2 .. order modalities]``
    (:func:`~infofusion.functional.decomposition.subset_products`), then a map to ``S``.

    The products make a parity (XOR) of one bit per modality linearly separable, which no
    linear function of the concatenation ``[N_1; N_2]`` is; ``layers=1`` makes the map to ``S``
    linear (then ``S`` is linear in those features), ``layers=2`` puts one hidden layer in.

    Args:
        names: modality names (order fixes the feature layout).
        in_dim: size of each ``N_m``.
        proj_dim: size of each projection ``p_m``.
        out_dim: size of ``S``.
        hidden: width of the hidden layer (``layers >= 2``).
        order: largest subset whose product is formed (``>= 2``; capped at the modality count).
        layers: layers of the map from the features to ``S``.
        dropout: dropout between those layers.
    """

    def __init__(
        self, names: Sequence[str], in_dim: int, proj_dim: int, out_dim: int, hidden: int,
        order: int = 3, layers: int = 2, dropout: float = 0.0, proj_layers: int = 1,
    ) -> None:
        super().__init__()
        self.names = tuple(names)
        self.order = order
        self.proj = nn.ModuleDict({
            m: mlp(in_dim, hidden, proj_dim, layers=proj_layers, dropout=0.0) for m in self.names
        })
        n_blocks = len(self.names) + len(subsets(len(self.names), order))
        self.feature_dim = proj_dim * n_blocks
        self.net = mlp(self.feature_dim, hidden, out_dim, layers=layers, dropout=dropout)

    def features(self, inter: dict[str, torch.Tensor]) -> torch.Tensor:
        """``{m: (B, in_dim)} -> (B, feature_dim)``: projections then their products."""
        p = [self.proj[m](inter[m]) for m in self.names]  # M x (B, proj_dim)
        return torch.cat([*p, subset_products(p, self.order)], dim=-1)

    def forward(self, inter: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(self.features(inter))  # (B, out_dim)


class Gate(nn.Module):
    """Per-sample weights over the components: ``softmax(G([Z_1; ...; Z_M]))``.

    Args:
        in_dim: size of the concatenated encodings.
        hidden: width of G's hidden layer.
        n_components: number of components K.
        dropout: dropout inside G.
    """

    def __init__(self, in_dim: int, hidden: int, n_components: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, n_components, layers=2, dropout=dropout)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, in_dim) -> (B, K)`` weights, each row summing to 1."""
        return torch.softmax(self.net(z), dim=-1)
