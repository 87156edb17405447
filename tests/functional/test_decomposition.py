"""The pure functions behind DMIL's losses against closed forms and numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infofusion.functional.decomposition import (
    cross_correlation,
    decorrelation_penalty,
    gaussian_kl,
    paired_correlation,
    subset_products,
    subsets,
)


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(7, 5), torch.randn(7, 5)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(7, 5), torch.ones(7, 5))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)
    assert float(gaussian_kl(torch.zeros(1, 4), torch.zeros(1, 4))[0]) == 0.0


def test_correlations_match_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((50, 3)), rng.standard_normal((50, 4))
    b[:, 0] = 2 * a[:, 1] + 0.3 * b[:, 0]
    full = np.corrcoef(a.T, b.T)[:3, 3:]  # (3, 4)
    ta, tb = torch.tensor(a), torch.tensor(b)
    torch.testing.assert_close(cross_correlation(ta, tb, eps=0.0), torch.tensor(full))
    torch.testing.assert_close(paired_correlation(ta, tb[:, :3], eps=0.0), torch.tensor(np.diag(full[:, :3]).copy()))
    torch.testing.assert_close(decorrelation_penalty(ta, tb), torch.tensor(0.5 * (full**2).sum()), rtol=1e-4, atol=1e-6)


def test_decorrelation_penalty_is_zero_for_uncorrelated_columns_and_grows_with_dependence():
    # centred, mutually orthogonal columns: every cross-correlation is exactly 0
    h = torch.tensor([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    a, b = h[:, 1:2], h[:, 2:4]
    assert float(decorrelation_penalty(a, b)) == pytest.approx(0.0, abs=1e-9)
    x = torch.randn(400, 1, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(400, 1, generator=torch.Generator().manual_seed(1))
    weak, strong = decorrelation_penalty(x, x + 3 * noise), decorrelation_penalty(x, x + 0.1 * noise)
    assert float(weak) < float(strong) <= 0.5


def test_paired_correlation_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="one shape"):
        paired_correlation(torch.zeros(4, 2), torch.zeros(4, 3))


def test_subset_products_known_values_and_counts():
    assert subsets(3, 3) == [(0, 1), (0, 2), (1, 2), (0, 1, 2)]
    assert len(subsets(6, 3)) == 15 + 20 and subsets(2, 5) == [(0, 1)]
    p = [torch.tensor([[2.0, 1.0]]), torch.tensor([[3.0, -1.0]]), torch.tensor([[-1.0, 4.0]])]
    out = subset_products(p, 3)
    expected = [6.0, -1.0, -2.0, 4.0, -3.0, -4.0, -6.0, -4.0]
    torch.testing.assert_close(out, torch.tensor([expected]))
    assert subset_products(p[:1], 2).shape == (1, 0)
    # XOR of two sign bits is the sign of the product: one linear coordinate
    bits = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    signs = 2.0 * bits - 1
    prod = subset_products([signs[:, :1], signs[:, 1:]], 2)[:, 0]
    assert torch.equal(prod < 0, (bits[:, 0] ^ bits[:, 1]).bool())
    with pytest.raises(ValueError, match="max_order"):
        subset_products(p, 1)
    with pytest.raises(ValueError, match="share one shape"):
        subset_products([torch.zeros(1, 2), torch.zeros(1, 3)], 2)
