"""The pure bound functions against closed forms, and the modules against the functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infofusion.functional import mi as F
from infofusion.measures.mi.club import CLUB
from infofusion.measures.mi.neural import NeuralMI

RHO = 0.8
TRUE_MI = -0.5 * math.log(1 - RHO**2)  # 0.51 nats


def _gaussian_pairs(b: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, generator=g, dtype=torch.float64)
    y = RHO * x + math.sqrt(1 - RHO**2) * torch.randn(b, generator=g, dtype=torch.float64)
    return x, y


def _true_log_ratio(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(B, B)`` matrix of log p(x_i, y_j) / p(x_i) p(y_j) for the bivariate normal."""
    xi, yj = x[:, None], y[None, :]
    s = 1 - RHO**2
    return -0.5 * math.log(s) - (RHO**2 * (xi**2 + yj**2) - 2 * RHO * xi * yj) / (2 * s)


def test_bounds_with_the_optimal_critic_approach_the_truth():
    x, y = _gaussian_pairs(2000)
    t = _true_log_ratio(x, y)
    assert float(F.dv(t)) == pytest.approx(TRUE_MI, abs=0.05)
    # NWJ's optimal critic is 1 + log ratio
    assert float(F.nwj(t + 1.0)) == pytest.approx(TRUE_MI, abs=0.05)
    assert float(F.infonce(t)) == pytest.approx(TRUE_MI, abs=0.05)  # far below the log B cap
    assert float(F.smile(t, clip=20.0)) == pytest.approx(float(F.dv(t)), abs=1e-9)
    assert float(F.dv_pointwise(t).mean()) == pytest.approx(float(F.dv(t)), abs=1e-12)


def test_lower_bounds_never_exceed_the_truth_much_with_any_critic():
    x, y = _gaussian_pairs(1000, seed=1)
    t = _true_log_ratio(x, y)
    for scale in (0.3, 0.7, 1.5, 3.0):
        for bound in (F.dv, F.nwj, F.infonce):
            assert float(bound(scale * t)) <= TRUE_MI + 0.06


def test_infonce_is_capped_at_log_batch():
    scores = torch.eye(8) * 100.0
    assert float(F.infonce(scores)) == pytest.approx(math.log(8), abs=1e-6)
    assert torch.allclose(F.infonce_pointwise(scores), torch.full((8,), math.log(8)), atol=1e-6)


def test_club_with_the_true_conditional_is_an_upper_bound():
    x, y = _gaussian_pairs(2000, seed=2)
    s2 = 1 - RHO**2
    log_q = -0.5 * ((y[None, :] - RHO * x[:, None]) ** 2 / s2 + math.log(2 * math.pi * s2))
    value = float(F.club(log_q))
    assert value >= TRUE_MI - 0.02
    assert value == pytest.approx(RHO**2 / (1 - RHO**2), abs=0.1)  # closed form of CLUB here
    assert float(F.club_pointwise(log_q).mean()) == pytest.approx(value, abs=1e-12)
    pos = log_q.diagonal()
    neg = log_q[torch.arange(2000), torch.roll(torch.arange(2000), 1)]
    assert float(F.vclub(pos, neg)) == pytest.approx(value, abs=0.15)


def test_mine_gradient_uses_the_moving_average():
    scores = torch.randn(6, 6, requires_grad=True)
    bound, surrogate, ema = F.mine(scores, torch.tensor(2.0), momentum=0.5)
    surrogate.backward()
    z = torch.exp(F.log_mean_exp_offdiag(scores.detach()))
    expected_ema = 0.5 * 2.0 + 0.5 * z
    assert float(ema) == pytest.approx(float(expected_ema), rel=1e-6)
    off = ~torch.eye(6, dtype=torch.bool)
    expected = torch.eye(6) / 6 - off * torch.exp(scores.detach()) / (30 * expected_ema)
    assert torch.allclose(scores.grad, expected, atol=1e-6)
    assert bound.item() == pytest.approx(F.dv(scores.detach()).item(), abs=1e-6)


def test_bounds_are_differentiable_and_reject_bad_shapes():
    scores = torch.randn(5, 5, requires_grad=True)
    for fn in (F.infonce, F.nwj, F.dv, F.js, lambda s: F.smile(s, 5.0)):
        (g,) = torch.autograd.grad(fn(scores), scores)
        assert torch.isfinite(g).all() and g.abs().sum() > 0
    with pytest.raises(ValueError, match="square"):
        F.infonce(torch.randn(3, 4))
    with pytest.raises(ValueError, match="B >= 2"):
        F.dv(torch.randn(1, 1))


@pytest.mark.parametrize("bound", ["infonce", "nwj", "dv", "mine", "smile"])
@pytest.mark.parametrize("critic", ["separable", "joint"])
def test_module_equals_function_on_its_scores(bound, critic):
    torch.manual_seed(0)
    m = NeuralMI(3, 2, bound=bound, critic=critic, hidden=(8, 8), embed_dim=4)
    x, y = torch.randn(12, 3), torch.randn(12, 2)
    s = m.scores(x, y)
    ref = {
        "infonce": F.infonce,
        "nwj": F.nwj,
        "dv": F.dv,
        "mine": F.dv,
        "smile": lambda t: F.smile(t, 5.0),
    }[bound](s)
    out = m(x, y)
    assert out.item() == pytest.approx(ref.item(), abs=1e-5)
    out.backward()  # the module is usable as a training loss
    assert all(p.grad is not None for p in m.parameters())
    pw = m.pointwise(x, y)
    assert pw.shape == (12,)
    # paired critic scores equal the diagonal of the full matrix
    assert torch.allclose(m.critic.paired(x, y), s.diagonal(), atol=1e-5)
    assert m.loss(x, y).item() == pytest.approx(-m(x, y).item(), abs=1e-5)


def test_club_module_equals_function():
    torch.manual_seed(0)
    club = CLUB(3, 2, hidden=(8,))
    x, y = torch.randn(10, 3), torch.randn(10, 2)
    lq = club.log_likelihood_matrix(x, y)
    assert torch.allclose(lq.diagonal(), club.log_likelihood(x, y), atol=1e-5)
    assert club(x, y).item() == pytest.approx(F.club(lq).item(), abs=1e-6)
    assert club.pointwise(x, y).shape == (10,)
    club.learning_loss(x, y).backward()
    assert np.isfinite(CLUB(3, 2, sampled=True)(x, y).item())
