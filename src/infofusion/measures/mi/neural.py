"""Neural MI lower bounds (InfoNCE, NWJ, DV, MINE, SMILE): critics, loss modules, estimators.

Two ways to use them:

* as a **loss inside a method**: :class:`NeuralMI` is an ``nn.Module`` whose ``forward(x, y)``
  returns the bound on the batch (maximise it, or minimise ``module.loss(x, y)``) and whose
  ``pointwise(x, y)`` returns per-sample MI (the critic's log density-ratio estimate);
* as an **estimator**: :class:`NeuralEstimator` trains a fresh critic on one part of the data,
  selects the checkpoint on a validation part (early stopping, through the shared auxiliary
  loop :func:`infofusion.training.auxiliary.fit_auxiliary`), and reports the bound on a
  **held-out test part** the critic never saw. Bounds evaluated on the training data overfit
  upwards and are never reported.

Valid range. Every bound here is at most I(X; Y) in expectation and I(X; Y) >= 0, while a
poorly trained critic can score below 0 on held-out data (far below on heavy tails or with a few
dozen samples). Two rules keep that visible and rare:

* the constant critic, whose bound is exactly 0 for every bound here, is one of the candidates
  of model selection: when no trained checkpoint beats 0 on the *validation* part, the estimate
  is 0 with ``extra["trivial_critic"] = True`` (a valid, if uninformative, lower bound);
* a reported value below 0 (the selected critic did worse on the test part than on validation)
  is kept as measured -- clipping would hide the failure and bias averages over seeds -- and
  flagged with ``extra["below_valid_range"] = True``; when its whole confidence interval lies
  below 0 an :class:`EstimationWarning` names the value.

Inputs are rank-normalised per column by default (``copula=True``): an invertible per-column map,
so the MI is unchanged, and heavy tails (a Cauchy column) no longer reach the critic.

The bound math lives in :mod:`infofusion.functional.mi`; this module only wires critics to it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional import mi as F_mi
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import (
    MIEstimatorBase,
    ProgressFn,
    TorchThreads,
    check,
    prescale,
)
from infofusion.registry import register
from infofusion.training.auxiliary import fit_auxiliary


class EstimationWarning(UserWarning):
    """An estimate outside its valid range was reported as measured (see ``extra``)."""


BoundName = Literal["infonce", "nwj", "dv", "mine", "smile"]
CriticName = Literal["separable", "joint"]
BOUNDS: tuple[str, ...] = ("infonce", "nwj", "dv", "mine", "smile")


def _mlp(in_dim: int, hidden: Sequence[int], out_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        d = h
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class SeparableCritic(nn.Module):
    """:math:`T(x, y) = f(x)^\\top g(y)`: all B^2 scores from 2B network passes.

    Args:
        dim_x, dim_y: input sizes.
        hidden: widths of the hidden layers of ``f`` and ``g``.
        embed_dim: size of the embeddings whose dot product is the score.
    """

    def __init__(
        self, dim_x: int, dim_y: int, hidden: Sequence[int] = (64, 64), embed_dim: int = 16
    ):
        super().__init__()
        self.f = _mlp(dim_x, hidden, embed_dim)
        self.g = _mlp(dim_y, hidden, embed_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(B, Dx)``, ``(B', Dy)`` -> ``(B, B')`` scores."""
        return self.f(x) @ self.g(y).T

    def paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of the pairs ``(x_i, y_i)`` only: ``(B,)``."""
        return (self.f(x) * self.g(y)).sum(dim=-1)


class JointCritic(nn.Module):
    """:math:`T(x, y) = \\mathrm{MLP}([x; y])`, evaluated on all B^2 pairs.

    The first layer is split, ``W [x; y] = W_x x + W_y y``, so it costs 2B products instead of
    B^2; the remaining layers run on ``(B, B, H)``.
    """

    def __init__(self, dim_x: int, dim_y: int, hidden: Sequence[int] = (64, 32)):
        super().__init__()
        if not hidden:
            raise ConfigError("parameter 'hidden' of a joint critic needs at least one layer")
        self.wx = nn.Linear(dim_x, hidden[0])
        self.wy = nn.Linear(dim_y, hidden[0], bias=False)
        self.rest = nn.Sequential(nn.ReLU(), _mlp(hidden[0], hidden[1:], 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(B, Dx)``, ``(B', Dy)`` -> ``(B, B')`` scores."""
        h = self.wx(x).unsqueeze(1) + self.wy(y).unsqueeze(0)  # (B, B', H)
        return self.rest(h).squeeze(-1)

    def paired(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of the pairs ``(x_i, y_i)`` only: ``(B,)``."""
        return self.rest(self.wx(x) + self.wy(y)).squeeze(-1)


def make_critic(
    critic: CriticName, dim_x: int, dim_y: int, hidden: Sequence[int], embed_dim: int
) -> nn.Module:
    """Build a critic by name (``separable`` or ``joint``)."""
    if critic == "separable":
        return SeparableCritic(dim_x, dim_y, hidden, embed_dim)
    if critic == "joint":
        return JointCritic(dim_x, dim_y, hidden)
    raise ConfigError(f"parameter 'critic' must be 'separable' or 'joint', got {critic!r}")


class NeuralMI(nn.Module):
    """A variational MI lower bound with its critic, usable as a training loss.

    ``forward(x, y)`` returns the bound on the batch (nats) with the gradient the bound's
    estimator trains with (the moving-average-corrected DV gradient for MINE, the JS gradient
    for SMILE); maximise it, or minimise :meth:`loss`.

    Args:
        dim_x, dim_y: input sizes.
        bound: ``infonce`` | ``nwj`` | ``dv`` | ``mine`` | ``smile``.
        critic: ``separable`` (``f(x)^T g(y)``) or ``joint`` (MLP on the concatenated pair).
        hidden: hidden widths of the critic networks.
        embed_dim: embedding size of a separable critic.
        smile_clip: SMILE's clipping threshold :math:`\\tau`.
        mine_momentum: weight of the current batch in MINE's moving average.

    Example:
        >>> import torch
        >>> m = NeuralMI(3, 2, bound="infonce")
        >>> x, y = torch.randn(16, 3), torch.randn(16, 2)
        >>> m(x, y).shape, m.pointwise(x, y).shape
        (torch.Size([]), torch.Size([16]))
    """

    lower_bound = True
    higher_is_better = True
    is_differentiable = True

    def __init__(
        self,
        dim_x: int,
        dim_y: int,
        bound: BoundName = "infonce",
        critic: CriticName = "separable",
        hidden: Sequence[int] = (64, 64),
        embed_dim: int = 16,
        smile_clip: float = 5.0,
        mine_momentum: float = 0.01,
    ) -> None:
        super().__init__()
        if bound not in BOUNDS:
            raise ConfigError(
                f"parameter 'bound' must be one of {', '.join(BOUNDS)}, got {bound!r}"
            )
        self.bound = bound
        self.critic = make_critic(critic, dim_x, dim_y, hidden, embed_dim)
        self.smile_clip = smile_clip
        self.mine_momentum = mine_momentum
        self.register_buffer("mine_running_mean", torch.tensor(float("nan")))

    def scores(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``(B, B)`` critic scores ``T(x_i, y_j)``."""
        return self.critic(x, y)

    def bound_from_scores(self, scores: torch.Tensor) -> torch.Tensor:
        """The bound (with its training gradient) from a ``(B, B)`` score matrix."""
        if self.bound == "infonce":
            return F_mi.infonce(scores)
        if self.bound == "nwj":
            return F_mi.nwj(scores)
        if self.bound == "dv":
            return F_mi.dv(scores)
        if self.bound == "smile":
            return F_mi.smile(scores, self.smile_clip)
        running = None if torch.isnan(self.mine_running_mean) else self.mine_running_mean
        value, surrogate, new_mean = F_mi.mine(scores, running, self.mine_momentum)
        if self.training:
            self.mine_running_mean.copy_(new_mean.detach())
        return value.detach() + surrogate - surrogate.detach()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Bound on the batch ``(B, Dx)``, ``(B, Dy)`` -> scalar (nats)."""
        return self.bound_from_scores(self.scores(x, y))

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``-forward(x, y)``: minimise to tighten the bound."""
        return -self.forward(x, y)

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-sample MI ``(B,)``: the critic's estimate of :math:`\\log p(x_i, y_i) / p(x_i)p(y_i)`."""
        s = self.scores(x, y)
        if self.bound == "infonce":
            return F_mi.infonce_pointwise(s)
        if self.bound == "nwj":
            return F_mi.nwj_pointwise(s)
        clipped = s.clamp(-self.smile_clip, self.smile_clip) if self.bound == "smile" else s
        return s.diagonal() - F_mi.log_mean_exp_offdiag(clipped)


# ------------------------------------------------------------------------------ evaluation
def blocks(n: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: ``n`` samples cut into ``max(1, n // size)`` near-equal blocks."""
    edges = np.linspace(0, n, max(1, n // size) + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


@torch.no_grad()
def evaluate_bound(
    module: NeuralMI, x: torch.Tensor, y: torch.Tensor, block: int = 1024
) -> tuple[float, float, np.ndarray]:
    """The bound of a trained module on a (held-out) set, in blocks of ``block`` samples.

    InfoNCE is averaged over blocks (each block's contrastive bound is valid, capped at
    ``log block``). For the DV family the positive term uses every sample and the partition
    term pools the off-diagonal pairs of every block.

    Returns:
        ``(value, stderr, pointwise)`` with ``pointwise`` of shape ``(N,)``.
    """
    module.eval()
    n = x.shape[0]
    if module.bound == "infonce":
        parts = [F_mi.infonce_pointwise(module.scores(x[a:b], y[a:b])) for a, b in blocks(n, block)]
        pw = torch.cat(parts).double().numpy()
        return float(pw.mean()), float(pw.std(ddof=1) / math.sqrt(n)), pw
    pos, lse, count = [], [], 0
    for a, b in blocks(n, block):
        s = module.scores(x[a:b], y[a:b]).double()
        pos.append(s.diagonal())
        neg = F_mi._offdiag(s)
        if module.bound == "smile":
            neg = neg.clamp(-module.smile_clip, module.smile_clip)
        lse.append(torch.logsumexp(neg, dim=0))
        count += neg.numel()
    t_pos = torch.cat(pos).numpy()
    log_z = float(torch.logsumexp(torch.stack(lse), dim=0)) - math.log(count)
    if module.bound == "nwj":
        value = float(t_pos.mean() - math.exp(log_z - 1.0))
        pw = t_pos - 1.0
    else:
        value = float(t_pos.mean() - log_z)
        pw = t_pos - log_z
    return value, float(t_pos.std(ddof=1) / math.sqrt(n)), pw


# ------------------------------------------------------------------------------ training
@dataclass(frozen=True)
class NeuralParams:
    """Parameters of a neural-bound estimator.

    Attributes:
        bound: which lower bound to train and report.
        critic: ``separable`` or ``joint``.
        hidden: hidden widths of the critic.
        embed_dim: embedding size of a separable critic.
        batch_size: training batch (B - 1 negatives per positive).
        lr: Adam learning rate.
        max_steps: training steps at most.
        eval_every: steps between validation checks.
        patience: validation checks without improvement before stopping.
        test_fraction: share of samples held out for the reported value.
        valid_fraction: share of the remaining samples used for early stopping.
        eval_block: block size when evaluating on held-out data.
        standardize: scale columns to zero mean, unit variance (statistics of the training part).
        copula: map every column to normal scores through its ranks first (an invertible
            per-column map, so the MI is unchanged; heavy tails no longer reach the critic).
            On by default: without it, a 2 x 2 Cauchy task gave -1.8 nats on held-out data.
        radial: append each side's Euclidean norm as an extra input (``x -> [x, |x|]`` is
            invertible, so the MI is unchanged); helps critics follow radius-dependent structure.
        smile_clip: SMILE's :math:`\\tau`.
        mine_momentum: MINE's moving-average weight.
        weight_decay: Adam weight decay.
        seed: seed of the split, the initialisation and the batches.
        threads: torch CPU threads during the estimate (0 = leave torch's setting). One is
            fastest for these small networks, and far faster on a loaded machine.
    """

    bound: BoundName = "infonce"
    critic: CriticName = "separable"
    hidden: tuple[int, ...] = (64, 64)
    embed_dim: int = 16
    batch_size: int = 256
    lr: float = 1e-3
    max_steps: int = 3000
    eval_every: int = 50
    patience: int = 5
    test_fraction: float = 0.5
    valid_fraction: float = 0.2
    eval_block: int = 1024
    standardize: bool = True
    copula: bool = True
    radial: bool = False
    smile_clip: float = 5.0
    mine_momentum: float = 0.01
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        check(self.bound in BOUNDS, "bound", self.bound, f"one of {', '.join(BOUNDS)}")
        check(
            self.critic in ("separable", "joint"), "critic", self.critic, "'separable' or 'joint'"
        )
        check(all(h > 0 for h in self.hidden), "hidden", self.hidden, "positive widths")
        for name in (
            "embed_dim",
            "batch_size",
            "max_steps",
            "eval_every",
            "patience",
            "eval_block",
        ):
            v = getattr(self, name)
            check(isinstance(v, int) and v >= 1, name, v, "an integer >= 1")
        check(self.batch_size >= 2, "batch_size", self.batch_size, ">= 2")
        check(self.lr > 0, "lr", self.lr, "> 0")
        check(0 < self.test_fraction < 1, "test_fraction", self.test_fraction, "in (0, 1)")
        check(0 < self.valid_fraction < 1, "valid_fraction", self.valid_fraction, "in (0, 1)")
        check(self.smile_clip > 0, "smile_clip", self.smile_clip, "> 0")
        check(0 < self.mine_momentum <= 1, "mine_momentum", self.mine_momentum, "in (0, 1]")
        check(self.threads >= 0, "threads", self.threads, ">= 0")


def split_indices(
    n: int, test_fraction: float, valid_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random disjoint ``(train, valid, test)`` index arrays; each gets at least 2 samples."""
    perm = rng.permutation(n)
    n_test = min(max(2, int(round(n * test_fraction))), n - 4)
    n_valid = min(max(2, int(round((n - n_test) * valid_fraction))), n - n_test - 2)
    return perm[n_test + n_valid :], perm[n_test : n_test + n_valid], perm[:n_test]


class TrainingParams(Protocol):
    """What :func:`fit_critic` and :func:`prepare_split` read (``NeuralParams``, ``CLUBParams``)."""

    batch_size: int
    lr: float
    weight_decay: float
    max_steps: int
    eval_every: int
    patience: int
    test_fraction: float
    valid_fraction: float
    standardize: bool
    seed: int


def fit_critic(
    module: nn.Module,
    objective: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    validate: Callable[[], float],
    x: torch.Tensor,
    y: torch.Tensor,
    p: TrainingParams,
    generator: torch.Generator,
    progress: ProgressFn | None = None,
) -> dict[str, float]:
    """Train ``module`` on minibatches of ``(x, y)`` with the shared auxiliary loop.

    ``objective(xb, yb)`` returns the loss to minimise and ``validate()`` the validation score
    (higher is better); the module ends with the weights of its best validation check. Returns
    ``{"steps", "best_step", "best_valid"}``.
    """
    res = fit_auxiliary(
        module,
        lambda idx: objective(x[idx], y[idx]),
        x.shape[0],
        validate,
        batch_size=p.batch_size,
        max_steps=p.max_steps,
        eval_every=p.eval_every,
        patience=p.patience,
        lr=p.lr,
        weight_decay=p.weight_decay,
        generator=generator,
        min_delta=1e-4,
        drop_last=True,
        progress=progress,
    )
    best = res.best_score if math.isfinite(res.best_score) else -math.inf
    return {"steps": res.steps, "best_step": res.best_step, "best_valid": best}


def prepare_split(
    x: np.ndarray, y: np.ndarray, p: TrainingParams
) -> tuple[tuple[torch.Tensor, ...], torch.Generator]:
    """Standardise with training statistics and split into train/valid/test float32 tensors."""
    rng = np.random.default_rng(p.seed)
    tr, va, te = split_indices(x.shape[0], p.test_fraction, p.valid_fraction, rng)
    if p.standardize:  # exact power-of-two scaling: values near 1e300 no longer overflow
        x, y = prescale(x), prescale(y)
    if getattr(p, "copula", False):
        from infofusion.measures.mi.gaussian import copula_normalize

        x, y = copula_normalize(x), copula_normalize(y)
    if p.standardize:
        mx, sx = x[tr].mean(0), x[tr].std(0)
        my, sy = y[tr].mean(0), y[tr].std(0)
        x = (x - mx) / np.where(sx > 0, sx, 1.0)
        y = (y - my) / np.where(sy > 0, sy, 1.0)
    if getattr(p, "radial", False):
        x = np.hstack([x, np.linalg.norm(x, axis=1, keepdims=True)])
        y = np.hstack([y, np.linalg.norm(y, axis=1, keepdims=True)])
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)
    gen = torch.Generator().manual_seed(p.seed)
    return (xt[tr], yt[tr], xt[va], yt[va], xt[te], yt[te]), gen


class NeuralEstimator(MIEstimatorBase):
    """Train a critic on one split, early-stop on another, report the bound on a held-out split.

    The value is a lower bound on I(X; Y) in expectation (up to the optimisation's quality);
    ``Estimate.n`` is the number of held-out samples it was computed on.
    """

    name = "neural"
    Params = NeuralParams
    kind = "lower_bound"
    min_samples = 20

    def __init__(self, progress=None, **params) -> None:  # type: ignore[no-untyped-def]
        fixed = getattr(type(self), "fixed_bound", None)
        if fixed is not None:
            if params.get("bound", fixed) != fixed:
                raise ConfigError(f"estimator '{self.name}' always uses bound '{fixed}'")
            params["bound"] = fixed
        super().__init__(progress, **params)
        self.module: NeuralMI | None = None

    def build(self, dim_x: int, dim_y: int) -> NeuralMI:
        p: NeuralParams = self._params
        return NeuralMI(
            dim_x, dim_y, p.bound, p.critic, p.hidden, p.embed_dim, p.smile_clip, p.mine_momentum
        )

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: NeuralParams = self._params
        # fork_rng: seeding the estimate must not reset the caller's global torch RNG
        with TorchThreads(p.threads), torch.random.fork_rng(devices=[]):
            (xtr, ytr, xva, yva, xte, yte), gen = prepare_split(x, y, p)
            torch.manual_seed(p.seed)
            module = self.build(xtr.shape[1], ytr.shape[1])
            block = min(p.eval_block, max(2, xva.shape[0]))
            stats: dict = fit_critic(
                module,
                module.loss,
                lambda: evaluate_bound(module, xva, yva, block)[0],
                xtr,
                ytr,
                p,
                gen,
                self.progress,
            )
            if stats["best_valid"] > 0:
                value, stderr, _ = evaluate_bound(module, xte, yte, min(p.eval_block, xte.shape[0]))
            else:
                # no trained critic beat the constant critic (bound exactly 0) on validation
                value, stderr = 0.0, 0.0
                stats["trivial_critic"] = True
        self.module = module
        stats["n_train"] = int(xtr.shape[0])
        if value < 0:
            stats["below_valid_range"] = True
            if value + 1.959963984540054 * stderr < 0:
                warnings.warn(
                    f"estimator '{self.name}' reports {value:.4f} nats on held-out data, below "
                    "the valid range (MI >= 0): the critic generalised poorly (too few samples "
                    "or too little training); treat the value as 'no dependence detected'",
                    EstimationWarning,
                    stacklevel=3,
                )
        return Estimate(value=value, stderr=stderr, n=int(xte.shape[0]), extra=stats)


def _bound_estimator(bound: str, summary: str) -> type[NeuralEstimator]:
    cls = type(
        f"{bound.upper()}Estimator",
        (NeuralEstimator,),
        {"name": bound, "fixed_bound": bound, "__doc__": summary, "__module__": __name__},
    )
    return register("estimator", bound, help=summary)(cls)


InfoNCEEstimator = _bound_estimator(
    "infonce", "InfoNCE contrastive lower bound, evaluated on held-out data."
)
NWJEstimator = _bound_estimator(
    "nwj", "NWJ (f-divergence) lower bound, evaluated on held-out data."
)
DVEstimator = _bound_estimator("dv", "Donsker-Varadhan lower bound, evaluated on held-out data.")
MINEEstimator = _bound_estimator(
    "mine", "MINE: DV bound trained with a moving-average gradient correction."
)
SMILEEstimator = _bound_estimator(
    "smile", "SMILE: DV bound with a clipped partition term (lower variance)."
)
