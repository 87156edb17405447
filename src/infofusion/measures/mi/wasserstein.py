"""The Wasserstein dependency measure (WDM): a Lipschitz critic as loss and as estimator.

:math:`I_W(X; Y) = W_1(p_{XY}, p_X p_Y)` (Ozair et al., 2019; the math is in
:mod:`infofusion.functional.wasserstein`). **It is not mutual information**: it is a transport
distance in the units of the metric on X x Y (here Euclidean on the concatenated, by default
standardised, inputs), 0 iff X and Y are independent, and it scales with the data
(``(aX, aY)`` has ``a I_W``) where MI is invariant. Ozair et al. propose it because MI lower
bounds need about :math:`e^{I}` samples to be tight, while the dual of :math:`W_1` does not
saturate that way: a representation trained to maximise it keeps dependence that a contrastive
(InfoNCE) objective stops rewarding.

* :class:`LipschitzCritic`: :math:`f(x, y) = \\mathrm{MLP}([x; y])`, kept 1-Lipschitz with respect
  to its raw input by spectral normalisation of every layer (``lipschitz="spectral"``; exact,
  and then every held-out value is a lower bound on :math:`W_1` in expectation) or encouraged to
  be by a gradient penalty (``lipschitz="gradient_penalty"``, WGAN-GP, weight 10; not a strict
  bound).
* :class:`WassersteinDependency`: the differentiable loss for representation learning, with the
  dual (``objective="wdm"``) or WPC, InfoNCE with the Lipschitz critic (``objective="wpc"``).
* the ``wdm`` estimator: trains a critic on one split with the shared auxiliary loop, early-stops
  on another and reports the dual on held-out pairs (``Estimate.unit == "distance"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from infofusion.errors import ConfigError
from infofusion.functional import mi as F_mi
from infofusion.functional.wasserstein import gradient_penalty, wdm_pointwise
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, TorchThreads, check
from infofusion.measures.mi.neural import blocks, fit_critic, prepare_split
from infofusion.registry import register

LipschitzName = Literal["spectral", "gradient_penalty"]


class MaxMin(nn.Module):
    """GroupSort of size 2: sort each pair of features (``(B, 2H)`` -> ``(B, 2H)``).

    1-Lipschitz and gradient-norm preserving, unlike ReLU: with spectrally normalised layers a
    ReLU network loses gradient norm at every layer and cannot reach the slope-1 critics that
    W1 needs (Anil et al., 2019, "Sorting out Lipschitz function approximation").
    """

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a, b = h.chunk(2, dim=-1)
        return torch.cat([torch.maximum(a, b), torch.minimum(a, b)], dim=-1)


class LipschitzCritic(nn.Module):
    """:math:`f(x, y) = \\mathrm{MLP}([x; y])` with MaxMin activations, Lipschitz in ``[x; y]``.

    With ``spectral=True`` every linear layer is divided by its largest singular value (one
    power iteration per training step) and MaxMin is 1-Lipschitz, so f is 1-Lipschitz in
    ``[x; y]`` under the Euclidean norm. The first layer is one matrix ``W = [W_x, W_y]``
    (normalised as a whole) applied as ``W_x x + W_y y``, so scoring all B^2 pairs costs 2B
    products in that layer. Hidden widths must be even (MaxMin pairs features).

    Args:
        dim_x, dim_y: input sizes.
        hidden: hidden widths (at least one layer).
        spectral: spectral-normalise every layer.
    """

    def __init__(
        self, dim_x: int, dim_y: int, hidden: Sequence[int] = (64, 64), spectral: bool = True
    ):
        super().__init__()
        if not hidden or any(h % 2 for h in hidden):
            raise ConfigError(
                f"parameter 'hidden' of a Lipschitz critic needs at least one layer and even "
                f"widths (MaxMin pairs features), got {tuple(hidden)}"
            )
        norm = spectral_norm if spectral else (lambda m: m)
        self.dim_x = dim_x
        self.first = norm(nn.Linear(dim_x + dim_y, hidden[0]))
        layers: list[nn.Module] = []
        d = hidden[0]
        for h in list(hidden[1:]) + [1]:
            layers += [MaxMin(), norm(nn.Linear(d, h))]
            d = h
        self.rest = nn.Sequential(*layers)

    def _halves(self) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.first.weight  # (H, Dx + Dy), normalised once per access
        return w[:, : self.dim_x], w[:, self.dim_x :]

    def paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of the pairs ``(x_i, y_i)``: ``(B, Dx)``, ``(B, Dy)`` -> ``(B,)``."""
        wx, wy = self._halves()
        return self.rest(x @ wx.T + y @ wy.T + self.first.bias).squeeze(-1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """All pairs: ``(B, Dx)``, ``(B', Dy)`` -> ``(B, B')`` scores ``f(x_i, y_j)``."""
        wx, wy = self._halves()
        h = (x @ wx.T + self.first.bias).unsqueeze(1) + (y @ wy.T).unsqueeze(0)  # (B, B', H)
        return self.rest(h).squeeze(-1)


class WassersteinDependency(nn.Module):
    """The Wasserstein dependency measure with a Lipschitz critic, as a training loss.

    ``forward(x, y)`` returns the objective on the batch (maximise it): the dual
    :math:`\\mathbb E_p f - \\mathbb E_{p_X p_Y} f` (``objective="wdm"``), with one shuffled
    partner per sample as the negative (O(B) critic evaluations), or InfoNCE with the Lipschitz
    critic over all B^2 pairs (``"wpc"``); :meth:`loss` is its negative plus the gradient
    penalty when ``lipschitz="gradient_penalty"``.

    Args:
        dim_x, dim_y: input sizes.
        lipschitz: ``spectral`` or ``gradient_penalty``.
        objective: ``wdm`` or ``wpc``.
        hidden: hidden widths of the critic.
        gp_weight: weight of the gradient penalty.

    Example:
        >>> import torch
        >>> wd = WassersteinDependency(3, 2)
        >>> x, y = torch.randn(32, 3), torch.randn(32, 2)
        >>> wd(x, y).shape, wd.loss(x, y).shape
        (torch.Size([]), torch.Size([]))
    """

    lower_bound = True
    higher_is_better = True
    is_differentiable = True

    def __init__(
        self,
        dim_x: int,
        dim_y: int,
        lipschitz: LipschitzName = "spectral",
        objective: Literal["wdm", "wpc"] = "wdm",
        hidden: Sequence[int] = (64, 64),
        gp_weight: float = 10.0,
    ) -> None:
        super().__init__()
        if lipschitz not in ("spectral", "gradient_penalty"):
            raise ConfigError(
                f"parameter 'lipschitz' must be 'spectral' or 'gradient_penalty', got {lipschitz!r}"
            )
        if objective not in ("wdm", "wpc"):
            raise ConfigError(f"parameter 'objective' must be 'wdm' or 'wpc', got {objective!r}")
        self.lipschitz, self.objective, self.gp_weight = lipschitz, objective, gp_weight
        self.critic = LipschitzCritic(dim_x, dim_y, hidden, spectral=lipschitz == "spectral")

    def scores(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(B, B)`` critic scores ``f(x_i, y_j)``."""
        return self.critic(x, y)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The objective on the batch ``(B, Dx)``, ``(B, Dy)`` -> scalar."""
        if self.objective == "wpc":
            return F_mi.infonce(self.scores(x, y))
        perm = _derangement(x.shape[0], x.device)
        return self.critic.paired(x, y).mean() - self.critic.paired(x, y[perm]).mean()

    def penalty(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Gradient penalty at interpolates of joint and shuffled pairs (0 with spectral norm)."""
        if self.lipschitz != "gradient_penalty":
            return torch.zeros((), device=x.device)
        b = x.shape[0]
        xp, yp = x[torch.randperm(b, device=x.device)], y[torch.randperm(b, device=x.device)]
        return self.gp_weight * gradient_penalty(self.critic.paired, x, y, xp, yp)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``-forward(x, y)`` plus the gradient penalty: minimise."""
        return -self.forward(x, y) + self.penalty(x, y)


def _derangement(n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A random shift of ``0..n-1`` by 1..n-1 places: no sample is its own partner."""
    shift = int(torch.randint(1, max(2, n), (1,)))
    return (torch.arange(n, device=device) + shift) % n


@torch.no_grad()
def evaluate_wdm(
    critic: LipschitzCritic, x: torch.Tensor, y: torch.Tensor, block: int
) -> tuple[float, float]:
    """The dual on a held-out set, all off-diagonal pairs within blocks of ``block`` as negatives.

    Returns:
        ``(value, stderr)``; the standard error is that of the per-sample terms
        :math:`f(x_i, y_i) - \\mathrm{mean}_{j \\ne i} f(x_i, y_j)`.
    """
    critic.eval()
    n = x.shape[0]
    pw = torch.cat([wdm_pointwise(critic(x[a:b], y[a:b])) for a, b in blocks(n, block)])
    pw = pw.double()
    return float(pw.mean()), float(pw.std(correction=1) / math.sqrt(n))


@dataclass(frozen=True)
class WDMParams:
    """Parameters of the ``wdm`` estimator.

    Attributes:
        lipschitz: ``spectral`` (exact 1-Lipschitz critic: held-out values are lower bounds on
            W1) or ``gradient_penalty``.
        gp_weight: weight of the gradient penalty.
        hidden: hidden widths of the critic.
        batch_size, lr, max_steps, eval_every, patience, weight_decay: training (Adam, early
            stopping on the validation dual).
        test_fraction, valid_fraction: held-out shares (the value is reported on the test part).
        eval_block: block size of the held-out evaluation (negatives within a block).
        standardize: scale every column to unit variance (training statistics) first; the value
            is then in units of standard deviations. ``False`` keeps the data's own metric.
        seed: seed of the split, the initialisation and the batches.
        threads: torch CPU threads (0 = leave torch's setting).
    """

    lipschitz: LipschitzName = "spectral"
    gp_weight: float = 10.0
    hidden: tuple[int, ...] = (64, 64)
    batch_size: int = 256
    lr: float = 1e-3
    max_steps: int = 2000
    eval_every: int = 50
    patience: int = 5
    weight_decay: float = 0.0
    test_fraction: float = 0.5
    valid_fraction: float = 0.2
    eval_block: int = 128
    standardize: bool = True
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        check(
            self.lipschitz in ("spectral", "gradient_penalty"),
            "lipschitz",
            self.lipschitz,
            "'spectral' or 'gradient_penalty'",
        )
        check(self.gp_weight >= 0, "gp_weight", self.gp_weight, ">= 0")
        check(
            len(self.hidden) >= 1 and all(h > 0 for h in self.hidden),
            "hidden",
            self.hidden,
            "positive widths",
        )
        for name in ("max_steps", "eval_every", "patience"):
            v = getattr(self, name)
            check(isinstance(v, int) and v >= 1, name, v, "an integer >= 1")
        check(self.batch_size >= 2, "batch_size", self.batch_size, ">= 2")
        check(self.eval_block >= 2, "eval_block", self.eval_block, ">= 2")
        check(self.lr > 0, "lr", self.lr, "> 0")
        check(0 < self.test_fraction < 1, "test_fraction", self.test_fraction, "in (0, 1)")
        check(0 < self.valid_fraction < 1, "valid_fraction", self.valid_fraction, "in (0, 1)")
        check(self.threads >= 0, "threads", self.threads, ">= 0")


@register(
    "estimator",
    "wdm",
    help="Wasserstein dependency measure W1(p_xy, p_x p_y), Lipschitz critic; a distance, not MI.",
)
class WDMEstimator(MIEstimatorBase):
    """Wasserstein dependency measure: Lipschitz critic trained on one split, dual held out.

    ``Estimate.unit`` is ``"distance"`` (no conversion to bits); with spectral normalisation
    the value is a lower bound on :math:`W_1(p_{XY}, p_X p_Y)` in expectation. As for the neural
    MI bounds, the constant critic (dual exactly 0) competes in model selection.
    """

    name = "wdm"
    Params = WDMParams
    kind = "lower_bound"
    quantity = "wasserstein"
    unit = "distance"
    min_samples = 20

    def __init__(self, progress=None, **params) -> None:  # type: ignore[no-untyped-def]
        super().__init__(progress, **params)
        self.module: WassersteinDependency | None = None

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: WDMParams = self._params
        with TorchThreads(p.threads), torch.random.fork_rng(devices=[]):
            (xtr, ytr, xva, yva, xte, yte), gen = prepare_split(x, y, p)
            torch.manual_seed(p.seed)
            module = WassersteinDependency(
                xtr.shape[1], ytr.shape[1], p.lipschitz, "wdm", p.hidden, p.gp_weight
            )
            block = min(p.eval_block, max(2, xva.shape[0]))
            stats: dict = fit_critic(
                module,
                module.loss,
                lambda: evaluate_wdm(module.critic, xva, yva, block)[0],
                xtr,
                ytr,
                p,
                gen,
                self.progress,
            )
            if stats["best_valid"] > 0:
                value, stderr = evaluate_wdm(
                    module.critic, xte, yte, min(p.eval_block, xte.shape[0])
                )
            else:
                value, stderr = 0.0, 0.0
                stats["trivial_critic"] = True
        self.module = module
        stats["n_train"] = int(xtr.shape[0])
        if value < 0:
            stats["below_valid_range"] = True
        return Estimate(value=value, stderr=stderr, n=int(xte.shape[0]), extra=stats)
