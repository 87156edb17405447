"""The reading list's dependence measures against closed forms and known cases.

Cauchy–Schwarz QMI and divergences (Yu et al.), diffusion spectral entropy / MI (Liao et al.),
the Wasserstein dependency measure (Ozair et al.). Values of the Gaussian cases are derived in
the docstrings of the functions they test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infofusion.errors import ConfigError
from infofusion.functional import mi as F_mi
from infofusion.functional.cauchy_schwarz import (
    cs_conditional_divergence,
    cs_divergence,
    cs_ib_loss,
    cs_qmi,
)
from infofusion.functional.diffusion import diffusion_spectral_entropy
from infofusion.functional.wasserstein import gradient_penalty, wdm_dual
from infofusion.measures.mi import estimate_mi
from infofusion.measures.mi.cauchy_schwarz import cs_qmi_jackknife, gaussian_cs_qmi
from infofusion.measures.mi.diffusion import dsmi
from infofusion.measures.mi.wasserstein import LipschitzCritic, WassersteinDependency

from .mi_truth import paired_gaussian


# ================================================================== Cauchy–Schwarz
@pytest.mark.parametrize("rho,truth", [(0.0, 0.0), (0.5, 0.0307), (0.9, 0.1288)])
def test_cs_qmi_gaussian_closed_form(rho, truth):
    assert gaussian_cs_qmi(rho) == pytest.approx(truth, abs=1e-4)
    x, y, _ = paired_gaussian(2000, 1, rho, seed=11)
    est = estimate_mi(x, y, estimator="cs_qmi", sigma=1.0, standardize=False)
    assert est.value >= 0 and est.extra["quantity"] == "cs_qmi"
    assert est.value == pytest.approx(gaussian_cs_qmi(rho), abs=max(3 * est.stderr, 0.003))


def test_cs_qmi_jackknife_matches_leaving_each_sample_out():
    x, y, _ = paired_gaussian(25, 2, 0.7, seed=3)
    value, loo = cs_qmi_jackknife(x, y, 1.3, 0.8)
    direct = float(cs_qmi(torch.as_tensor(x), torch.as_tensor(y), 1.3, 0.8))
    assert value == pytest.approx(direct, abs=1e-12)
    for m in (0, 7, 24):
        keep = np.arange(25) != m
        left = float(cs_qmi(torch.as_tensor(x[keep]), torch.as_tensor(y[keep]), 1.3, 0.8))
        assert loo[m] == pytest.approx(left, abs=1e-12)


def test_cs_qmi_is_nonnegative_and_zero_for_a_flat_kernel():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        x, t = torch.randn(50, 3, generator=g), torch.randn(50, 2, generator=g)
        assert float(cs_qmi(x, t)) >= -1e-12
    x = torch.randn(40, 2, dtype=torch.float64, generator=g)
    assert float(cs_qmi(x, x**2, sigma_x=1e9, sigma_t=1.0)) == pytest.approx(0.0, abs=1e-12)


def test_cs_divergence_between_gaussians():
    # D_CS(N(mu1, s^2 I), N(mu2, s^2 I)) with kernel width sigma -> |dmu|^2 / (2 s^2 + sigma^2)
    g = torch.Generator().manual_seed(1)
    p = torch.randn(1500, 2, dtype=torch.float64, generator=g)
    q = torch.randn(1500, 2, dtype=torch.float64, generator=g)
    # centre each sample exactly on its mean (the sampling noise of the means is the largest);
    # over 8 seeds the estimate then averages 0.416 with a standard deviation of 0.016
    p, q = p - p.mean(0), q - q.mean(0) + torch.tensor([1.0, 0.5], dtype=torch.float64)
    truth = 1.25 / (2.0 + 1.0)
    assert float(cs_divergence(p, q, sigma=1.0)) == pytest.approx(truth, abs=0.05)
    assert float(cs_divergence(p, p, sigma=1.0)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("weights", ["paper", "code"])
def test_cs_conditional_divergence_is_zero_for_perfect_predictions(weights):
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(64, 4, generator=g), torch.randn(64, generator=g)
    zero = cs_conditional_divergence(x, y, y.clone(), weights=weights)
    assert float(zero) == pytest.approx(0.0, abs=1e-6)
    worse = cs_conditional_divergence(x, y, y + 0.5 * torch.randn(64, generator=g), weights=weights)
    assert float(worse) > 0.01


def test_cs_ib_loss_is_differentiable_and_has_both_terms():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(32, 5, generator=g)
    t = torch.randn(32, 6, generator=g, requires_grad=True)
    y_hat = torch.randn(32, generator=g, requires_grad=True)
    loss, terms = cs_ib_loss(x, t, torch.randn(32, generator=g), y_hat, beta=0.1)
    loss.backward()
    assert t.grad is not None and y_hat.grad is not None and torch.isfinite(t.grad).all()
    total = float(terms["cs_div"] + 0.1 * terms["cs_qmi"])
    assert float(loss.detach()) == pytest.approx(total, rel=1e-6)
    assert 0 <= float(terms["cs_qmi"]) <= 1 + 1e-6  # normalised compression term


def _regression_data(n: int = 600, seed: int = 0):
    from infofusion.data.dataset import MultimodalDataset

    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    y = np.sin(a[:, 0]) + a[:, 1] * b[:, 0] + 0.2 * rng.standard_normal(n)
    splits = np.array(
        ["train"] * (n // 2) + ["valid"] * (n // 4) + ["test"] * (n - n // 2 - n // 4)
    )
    return MultimodalDataset(
        {"a": a.astype(np.float32), "b": b.astype(np.float32)},
        y.astype(np.float32),
        task="regression",
        splits=splits,
    )


def test_cs_ib_is_a_task_loss_option_of_any_method():
    from infofusion.training.trainer import TrainConfig, fit

    torch.set_num_threads(1)
    data = _regression_data()
    cfg = TrainConfig(epochs=12, patience=0, progress=False, batch_size=64)
    for method in ("joint", "late"):
        res = fit(
            method, data, cfg, hidden=32, embed_dim=16, regression_loss="cs_ib", cs_ib_beta=0.01
        )
        assert res.method.config["regression_loss"] == "cs_ib"
        assert res.metrics["test/R2"] > 0.1  # learns something beyond the mean
    with pytest.raises(ConfigError, match="regression task"):
        fit("joint", _classification(), cfg, regression_loss="cs_ib")
    with pytest.raises(ConfigError, match="'regression_loss'"):
        fit("joint", data, cfg, regression_loss="huber")


def _classification():
    from infofusion.data.dataset import MultimodalDataset

    rng = np.random.default_rng(0)
    return MultimodalDataset(
        {"a": rng.standard_normal((40, 2)).astype(np.float32)},
        rng.integers(0, 2, 40),
        splits=np.array(["train"] * 20 + ["valid"] * 10 + ["test"] * 10),
    )


# ================================================================== diffusion spectral entropy
def test_dse_known_cases():
    assert diffusion_spectral_entropy(np.ones((30, 4)), sigma=1.0) == 0.0  # identical points
    far = np.arange(32.0)[:, None] * 100.0  # distances >> sigma: G = I
    assert diffusion_spectral_entropy(far, sigma=1.0) == pytest.approx(5.0, abs=1e-9)
    rng = np.random.default_rng(0)
    for k in (2, 4, 8):  # k tight, well-separated clusters
        centres = rng.standard_normal((k, 10)) * 100.0
        z = np.repeat(centres, 30, axis=0) + 0.01 * rng.standard_normal((30 * k, 10))
        assert diffusion_spectral_entropy(z, sigma=1.0) == pytest.approx(math.log2(k), abs=0.02)
        # many diffusion steps leave one eigenvalue 1 per connected component, also on the
        # sparsified kNN graph (each cluster's 5-NN graph is connected, clusters are not joined)
        for knn in (None, 5):
            many = diffusion_spectral_entropy(z, sigma=1.0, t=200, knn=knn)
            assert many == pytest.approx(math.log2(k), abs=1e-6)
    chain = np.arange(40.0)[:, None] * 0.5  # one connected component
    assert diffusion_spectral_entropy(chain, sigma=1.0, t=5000) == pytest.approx(0.0, abs=1e-3)


def test_dsmi_known_cases():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 40)
    z = rng.standard_normal((4, 6))[labels] * 100.0 + 0.01 * rng.standard_normal((160, 6))
    assert dsmi(z, labels, sigma=1.0).value == pytest.approx(2.0, abs=0.05)  # log2 4
    noise = rng.standard_normal((300, 5))
    vals = [dsmi(noise, rng.integers(0, 3, 300), repeats=3, seed=s).value for s in range(3)]
    assert abs(np.mean(vals)) < 0.1  # independent labels: about 0 bits


def test_dsmi_estimator_reports_nats_and_bins_continuous_targets():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(2), 60)
    z = rng.standard_normal((2, 3))[labels] * 50.0 + 0.01 * rng.standard_normal((120, 3))
    est = estimate_mi(z, labels, estimator="dsmi", sigma=1.0)
    assert est.value == pytest.approx(math.log(2), abs=0.03) and est.extra["labels"] == "given"
    cont = estimate_mi(z, labels + 0.001 * rng.standard_normal(120), estimator="dsmi", sigma=1.0)
    assert cont.extra["labels"] == "binned" and cont.value == pytest.approx(math.log(2), abs=0.05)


# ================================================================== Wasserstein dependency
def test_wdm_functional_closed_forms():
    assert float(wdm_dual(torch.full((5, 5), 2.0))) == 0.0  # constant critic
    s = torch.arange(16.0, dtype=torch.float64).reshape(4, 4)
    # diagonal mean 7.5; off-diagonal mean (120 - 30) / 12 = 7.5
    assert float(wdm_dual(s)) == pytest.approx(0.0, abs=1e-12)
    # gradient penalty of f(x, y) = 3 x1: |grad| = 3 everywhere -> (3 - 1)^2 = 4
    x, y = torch.randn(20, 2), torch.randn(20, 1)
    gp = gradient_penalty(lambda a, b: 3.0 * a[:, 0], x, y, torch.randn(20, 2), torch.randn(20, 1))
    assert float(gp) == pytest.approx(4.0, abs=1e-6)


def test_spectral_critic_is_1_lipschitz_and_wpc_is_capped_by_log_batch():
    torch.manual_seed(0)
    wd = WassersteinDependency(3, 2, objective="wpc")
    opt = torch.optim.Adam(wd.parameters(), lr=1e-2)
    x = torch.randn(64, 3)
    y = x[:, :2] + 0.1 * torch.randn(64, 2)
    for _ in range(50):
        loss = wd.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    wd.eval()
    assert float(wd(x, y)) <= math.log(64) + 1e-6
    a = torch.randn(500, 5) * 3
    b = a + 0.01 * torch.randn(500, 5)
    with torch.no_grad():
        fa, fb = wd.critic.paired(a[:, :3], a[:, 3:]), wd.critic.paired(b[:, :3], b[:, 3:])
    assert float(((fa - fb).abs() / (a - b).norm(dim=1)).max()) <= 1.0 + 1e-4
    with pytest.raises(ConfigError, match="even"):
        LipschitzCritic(2, 2, hidden=(33,))


def test_wdm_independence_is_about_zero_held_out():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((1000, 2)), rng.standard_normal((1000, 2))
    est = estimate_mi(x, y, estimator="wdm", max_steps=200)
    assert est.unit == "distance" and est.extra["quantity"] == "wasserstein"
    assert abs(est.value) < 3 * max(est.stderr, 0.01)


@pytest.mark.slow
@pytest.mark.parametrize("rho,low,high", [(0.5, 0.234, 0.369), (0.9, 0.546, 0.782)])
@pytest.mark.parametrize("lipschitz", ["spectral", "gradient_penalty"])
def test_wdm_gaussian_bounds(rho, low, high, lipschitz):
    # unit-variance Gaussians, Euclidean metric:
    # sqrt(2/pi) (1 - sqrt(1 - rho)) <= W1 <= sqrt(4 - 2 (sqrt(1 + rho) + sqrt(1 - rho)))
    x, y, _ = paired_gaussian(4000, 1, rho, seed=1)
    est = estimate_mi(x, y, estimator="wdm", standardize=False, lipschitz=lipschitz)
    assert low - 3 * est.stderr <= est.value <= high + 3 * est.stderr


@pytest.mark.slow
def test_wdm_scales_with_the_metric():
    x, y, _ = paired_gaussian(3000, 1, 0.7, seed=2)
    one = estimate_mi(x, y, estimator="wdm", standardize=False).value
    three = estimate_mi(3 * x, 3 * y, estimator="wdm", standardize=False).value
    assert three == pytest.approx(3 * one, rel=0.15)
    # standardised inputs remove the scale, as for MI
    a = estimate_mi(x, y, estimator="wdm").value
    b = estimate_mi(3 * x, 3 * y, estimator="wdm").value
    assert b == pytest.approx(a, rel=1e-6)


def test_infonce_functional_unchanged_by_wpc_helper():
    s = torch.eye(4) * 50.0
    assert float(F_mi.infonce(s)) == pytest.approx(math.log(4), abs=1e-6)
