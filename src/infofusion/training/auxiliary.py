"""One small loop for auxiliary models: critics, probes and classifiers inside the measures.

The training engine (:mod:`infofusion.training.trainer`) trains fusion methods on datasets;
measures train small helper networks on tensors (a neural-MI critic, the classifiers of the
batch PID estimator and of pointwise measures, linear probes). They all share this loop and
:class:`EarlyStopping` (which the engine uses for its own model selection too), so there is one
definition of "train on minibatches, check a validation score every so often, keep the best".
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


class EarlyStopping:
    """Tracks the best validation score and when to stop.

    Args:
        patience: checks without improvement before :attr:`should_stop` turns true
            (``0``: never stop early).
        higher_is_better: direction of the score.
        min_delta: an improvement must exceed this margin to count.

    Example:
        >>> es = EarlyStopping(patience=2)
        >>> [es.update(s) for s in (0.5, 0.7, 0.6, 0.65)]
        [True, True, False, False]
        >>> es.should_stop, es.best, es.best_step
        (True, 0.7, 1)
    """

    def __init__(self, patience: int, higher_is_better: bool = True, min_delta: float = 0.0) -> None:
        self.patience = patience
        self.higher_is_better = higher_is_better
        self.min_delta = min_delta
        self.best: float | None = None
        self.best_step = -1
        self.bad_checks = 0
        self._step = -1

    def improves(self, score: float) -> bool:
        """Whether ``score`` beats the best so far (a non-finite score never does)."""
        if not math.isfinite(score):
            return False
        if self.best is None or not math.isfinite(self.best):
            return True
        if self.higher_is_better:
            return score > self.best + self.min_delta
        return score < self.best - self.min_delta

    def update(self, score: float, step: int | None = None) -> bool:
        """Record one validation check; True when it is the new best."""
        self._step = self._step + 1 if step is None else step
        if self.improves(score):
            self.best, self.best_step, self.bad_checks = score, self._step, 0
            return True
        self.bad_checks += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad_checks >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "bad_checks": self.bad_checks, "step": self._step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.best_step = int(state["best_step"])
        self.bad_checks = int(state["bad_checks"])
        self._step = int(state.get("step", self.best_step))


@dataclass
class AuxFitResult:
    """What :func:`fit_auxiliary` did: steps run, the step and score of the kept weights."""

    steps: int
    best_step: int
    best_score: float


ProgressFn = Callable[[int, int, str], None]


def fit_auxiliary(
    module: nn.Module,
    objective: Callable[[torch.Tensor], torch.Tensor],
    n_train: int,
    validate: Callable[[], float] | None,
    *,
    batch_size: int,
    max_steps: int,
    eval_every: int,
    patience: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    generator: torch.Generator | None = None,
    higher_is_better: bool = True,
    min_delta: float = 1e-4,
    drop_last: bool = True,
    progress: ProgressFn | None = None,
) -> AuxFitResult:
    """Adam on minibatches of ``n_train`` rows with early stopping on ``validate()``.

    Args:
        module: the model; it ends with the weights of its best validation check (the last
            weights when ``validate`` is None).
        objective: ``objective(idx)`` returns the loss of the training rows ``idx`` (an int64
            index tensor); the caller owns the data.
        n_train: number of training rows.
        validate: score of the current weights on held-out rows (called in eval mode).
        batch_size: rows per step (capped at ``n_train``).
        max_steps: optimisation steps at most.
        eval_every: steps between validation checks (one epoch is ``ceil(n_train/batch_size)``
            steps without ``drop_last``).
        patience: checks without improvement before stopping (``0``: never).
        generator: the shuffling stream (seed it for repeatable runs).
        higher_is_better: direction of ``validate``.
        drop_last: reshuffle when fewer than ``batch_size`` rows remain (True) or take the short
            last batch of each pass (False).

    Returns:
        :class:`AuxFitResult`.
    """
    opt = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay, foreach=True)
    bs = max(1, min(batch_size, n_train))
    stopper = EarlyStopping(patience, higher_is_better, min_delta)
    best_state: dict[str, Any] | None = None
    perm, pos = torch.randperm(n_train, generator=generator), 0
    step = 0
    for step in range(1, max_steps + 1):
        if pos >= n_train or (drop_last and pos + bs > n_train):
            perm, pos = torch.randperm(n_train, generator=generator), 0
        idx = perm[pos : pos + bs]
        pos += bs
        module.train()
        loss = objective(idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if validate is not None and (step % eval_every == 0 or step == max_steps):
            module.eval()
            with torch.no_grad():
                score = float(validate())
            if stopper.update(score, step):
                best_state = copy.deepcopy(module.state_dict())
            if progress is not None:
                progress(step, max_steps, f"step {step}: validation {score:.4f}")
            if stopper.should_stop:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    best = stopper.best if stopper.best is not None else float("nan")
    return AuxFitResult(steps=step, best_step=stopper.best_step, best_score=best)
