"""CLUB and vCLUB: upper bounds on MI through a variational conditional q(y | x) (Cheng et al., 2020).

.. math::

    I_{CLUB} = \\mathbb E_{p(x, y)}[\\log q(y|x)] - \\mathbb E_{p(x)}\\mathbb E_{p(y)}[\\log q(y|x)]

q is a diagonal Gaussian whose mean and log-variance are MLPs of x. CLUB is an upper bound when
q is close to p(y | x) (exactly so when q = p(y | x)); q is fitted by maximum likelihood.
vCLUB estimates the second term with one shuffled partner per sample (O(B) instead of O(B^2)).

As a loss inside a method (to *remove* information), alternate two steps: fit q with
``club.learning_loss(x.detach(), y.detach())`` on its own optimiser, then minimise
``club(x, y)`` through the encoder that produced x.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from infofusion.functional import mi as F_mi
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, TorchThreads, check
from infofusion.measures.mi.neural import _mlp, blocks, fit_critic, prepare_split
from infofusion.registry import register

_LOG_2PI = math.log(2 * math.pi)


class CLUB(nn.Module):
    """Gaussian variational q(y | x) with the CLUB / vCLUB upper bounds.

    Args:
        dim_x, dim_y: input sizes.
        hidden: hidden widths of the mean and log-variance networks.
        sampled: ``forward`` returns vCLUB (one shuffled negative per sample) instead of CLUB.

    Example:
        >>> import torch
        >>> club = CLUB(3, 2)
        >>> x, y = torch.randn(8, 3), torch.randn(8, 2)
        >>> club(x, y).shape, club.pointwise(x, y).shape
        (torch.Size([]), torch.Size([8]))
    """

    lower_bound = False
    higher_is_better = False
    is_differentiable = True

    def __init__(
        self, dim_x: int, dim_y: int, hidden: Sequence[int] = (64, 64), sampled: bool = False
    ):
        super().__init__()
        self.mu = _mlp(dim_x, hidden, dim_y)
        self.logvar = nn.Sequential(_mlp(dim_x, hidden, dim_y), nn.Tanh())
        self.sampled = sampled

    def _moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # tanh keeps the log-variance in (-10, 0) (data are standardised): no blow-up early on
        return self.mu(x), 5.0 * self.logvar(x) - 5.0

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``log q(y_i | x_i)`` for paired rows: ``(B,)``."""
        mu, logvar = self._moments(x)
        return -0.5 * (((y - mu) ** 2) / logvar.exp() + logvar + _LOG_2PI).sum(-1)

    def log_likelihood_matrix(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(B, B')`` matrix of ``log q(y_j | x_i)``."""
        mu, logvar = self._moments(x)  # (B, Dy)
        diff = y.unsqueeze(0) - mu.unsqueeze(1)  # (B, B', Dy)
        return -0.5 * ((diff**2) / logvar.exp().unsqueeze(1) + logvar.unsqueeze(1) + _LOG_2PI).sum(
            -1
        )

    def learning_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of q: minimise to fit q(y | x)."""
        return -self.log_likelihood(x, y).mean()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The CLUB (or vCLUB) upper bound on the batch, scalar (nats)."""
        if self.sampled:
            perm = torch.randperm(x.shape[0], device=x.device)
            return F_mi.vclub(self.log_likelihood(x, y), self.log_likelihood(x, y[perm]))
        return F_mi.club(self.log_likelihood_matrix(x, y))

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample CLUB terms ``(B,)``: ``log q(y_i|x_i) - mean_j log q(y_i|x_j)``."""
        return F_mi.club_pointwise(self.log_likelihood_matrix(x, y))


@dataclass(frozen=True)
class CLUBParams:
    """Parameters of the CLUB estimator (training mirrors the neural lower bounds).

    Attributes:
        hidden: widths of q's networks.
        sampled: report vCLUB (one random negative per sample) instead of CLUB.
        batch_size, lr, max_steps, eval_every, patience: training of q by maximum likelihood,
            early-stopped on the validation log-likelihood.
        test_fraction, valid_fraction: held-out shares (the bound is reported on the test part).
        eval_block: block size of the O(B^2) evaluation.
        seed, threads: as for the neural estimators.
    """

    hidden: tuple[int, ...] = (64, 64)
    sampled: bool = False
    batch_size: int = 256
    lr: float = 2e-3
    max_steps: int = 2000
    eval_every: int = 100
    patience: int = 5
    test_fraction: float = 0.5
    valid_fraction: float = 0.2
    eval_block: int = 1024
    standardize: bool = True
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        check(all(h > 0 for h in self.hidden), "hidden", self.hidden, "positive widths")
        check(self.batch_size >= 2, "batch_size", self.batch_size, ">= 2")
        check(self.lr > 0, "lr", self.lr, "> 0")
        check(self.max_steps >= 1, "max_steps", self.max_steps, ">= 1")
        check(0 < self.test_fraction < 1, "test_fraction", self.test_fraction, "in (0, 1)")
        check(0 < self.valid_fraction < 1, "valid_fraction", self.valid_fraction, "in (0, 1)")


@torch.no_grad()
def evaluate_club(
    module: CLUB, x: torch.Tensor, y: torch.Tensor, block: int, seed: int
) -> tuple[float, float]:
    """CLUB (or vCLUB) on a held-out set in blocks; returns ``(value, stderr)``."""
    module.eval()
    n = x.shape[0]
    if module.sampled:
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(n, generator=g)
        pw = module.log_likelihood(x, y) - module.log_likelihood(x, y[perm])
    else:
        pw = torch.cat([module.pointwise(x[a:b], y[a:b]) for a, b in blocks(n, block)])
    pw = pw.double()
    return float(pw.mean()), float(pw.std() / math.sqrt(n))


@register(
    "estimator", "club", help="CLUB upper bound via a Gaussian q(y|x), evaluated on held-out data."
)
class CLUBEstimator(MIEstimatorBase):
    """CLUB upper bound: fit q(y | x) on a training split, report the bound on a held-out split."""

    name = "club"
    Params = CLUBParams
    kind = "upper_bound"
    min_samples = 20

    def __init__(self, progress=None, **params) -> None:  # type: ignore[no-untyped-def]
        if getattr(type(self), "sampled_default", False):
            params.setdefault("sampled", True)
        super().__init__(progress, **params)
        self.module: CLUB | None = None

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: CLUBParams = self._params
        # fork_rng: seeding the estimate must not reset the caller's global torch RNG
        with TorchThreads(p.threads), torch.random.fork_rng(devices=[]):
            (xtr, ytr, xva, yva, xte, yte), gen = prepare_split(x, y, p)
            torch.manual_seed(p.seed)
            module = CLUB(x.shape[1], y.shape[1], p.hidden, p.sampled)
            stats = fit_critic(
                module,
                module.learning_loss,
                torch.no_grad()(lambda: float(module.log_likelihood(xva, yva).mean())),
                xtr,
                ytr,
                p,
                gen,
                self.progress,
            )
            value, stderr = evaluate_club(module, xte, yte, p.eval_block, p.seed)
        self.module = module
        return Estimate(value=value, stderr=stderr, n=int(xte.shape[0]), extra=stats)


@register("estimator", "vclub", help="vCLUB: CLUB with one sampled negative per sample.")
class VCLUBEstimator(CLUBEstimator):
    """vCLUB: CLUB's second term from one shuffled partner per sample (cheaper, noisier)."""

    name = "vclub"
    sampled_default = True
