"""The shared auxiliary loop: early stopping logic and best-weights selection."""

from __future__ import annotations

import torch
from torch import nn

from infofusion.training.auxiliary import EarlyStopping, fit_auxiliary


def test_early_stopping_lower_is_better_and_patience():
    es = EarlyStopping(patience=2, higher_is_better=False)
    assert [es.update(s) for s in (1.0, 0.5, 0.6, 0.4, 0.45, 0.41)] == [True, True, False, True, False, False]
    assert es.should_stop and es.best == 0.4 and es.best_step == 3
    assert not EarlyStopping(patience=0).should_stop
    es2 = EarlyStopping(patience=3)
    assert not es2.update(float("nan")) and es2.best is None


def test_early_stopping_state_roundtrip():
    es = EarlyStopping(patience=3)
    for s in (0.1, 0.3, 0.2):
        es.update(s)
    other = EarlyStopping(patience=3)
    other.load_state_dict(es.state_dict())
    assert (other.best, other.best_step, other.bad_checks) == (0.3, 1, 1)
    assert other.update(0.4) and other.best_step == 3


def test_fit_auxiliary_recovers_linear_map_and_keeps_best_weights():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 3, generator=g)
    w = torch.tensor([[1.0], [-2.0], [0.5]])
    y = x @ w
    xv = torch.randn(128, 3, generator=g)
    yv = xv @ w
    model = nn.Linear(3, 1, bias=False)
    seen: list[float] = []

    def validate() -> float:
        score = -float(((model(xv) - yv) ** 2).mean())
        seen.append(score)
        return score

    res = fit_auxiliary(
        model, lambda idx: ((model(x[idx]) - y[idx]) ** 2).mean(), len(x), validate,
        batch_size=64, max_steps=2000, eval_every=8, patience=5, lr=5e-2, generator=g, min_delta=0.0,
    )
    assert torch.allclose(model.weight.detach().T, w, atol=2e-2)
    assert res.best_score == max(seen)
    # the kept weights are those of the best check, not the last
    assert abs(validate() - res.best_score) < 1e-9
