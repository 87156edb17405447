"""Masked pooling selects valid positions: a worked example, and every sequence path of the
package fed ``inf``, ``-inf`` and NaN in its padding gives the outputs (and gradients) of clean
zero padding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from infofusion.data.dataset import MultimodalDataset
from infofusion.functional.pooling import lengths_mask, masked_mean, select_valid
from infofusion.interfaces import Batch, ModalitySpec

FILLS = [math.inf, -math.inf, math.nan]
NAN, INF = math.nan, math.inf


# ------------------------------------------------------------------------------- the function
def test_masked_mean_worked_example():
    x = torch.tensor(
        [[[1.0, 10.0], [3.0, 20.0], [INF, NAN]], [[5.0, -1.0], [NAN, 1.0], [-INF, 2.0]]]
    )
    mask = torch.tensor([[True, True, False], [True, False, False]])
    torch.testing.assert_close(masked_mean(x, mask), torch.tensor([[2.0, 15.0], [5.0, -1.0]]))
    # every valid entry at once: (1 + 3 + 5, 10 + 20 - 1) / 3 valid steps
    torch.testing.assert_close(masked_mean(x, mask, dim=None), torch.tensor([3.0, 29.0 / 3.0]))
    # (B, T) values without a feature dim
    v = torch.tensor([[2.0, 4.0, NAN], [INF, 6.0, 8.0]])
    m = torch.tensor([[True, True, False], [False, True, True]])
    torch.testing.assert_close(masked_mean(v, m), torch.tensor([3.0, 7.0]))
    torch.testing.assert_close(masked_mean(v, m, dim=None), torch.tensor(5.0))
    # an empty row gives 0, no mask is a plain mean
    assert masked_mean(v, torch.zeros_like(m)).tolist() == [0.0, 0.0]
    torch.testing.assert_close(
        masked_mean(x[:, :2, :1], None), torch.tensor([[2.0], [NAN]]), equal_nan=True
    )
    assert select_valid(x, mask)[0, 2].tolist() == [0.0, 0.0]
    assert select_valid(x, mask)[1, 1:].abs().sum() == 0
    assert lengths_mask(torch.tensor([2, 1]), 3).tolist() == mask.tolist()


def test_masked_mean_gradient_is_clean():
    x = torch.tensor([[[1.0], [2.0], [INF]], [[3.0], [NAN], [-INF]]], requires_grad=True)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    masked_mean(x, mask).sum().backward()
    assert x.grad.squeeze(-1).tolist() == [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]


def test_masked_mean_checks_its_mask():
    x = torch.zeros(2, 3, 4)
    with pytest.raises(TypeError, match="bool"):
        masked_mean(x, torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        masked_mean(x, torch.ones(2, 4, dtype=torch.bool))


# ------------------------------------------------------------------------------- helpers
def padded_data(fill: float = 0.0, n: int = 40, t: int = 5, seed: int = 0) -> MultimodalDataset:
    """Sequence modalities 's' (prime-like), 'a' (same lengths as 's') and 'u' (other length),
    a vector 'v'; the padding of every sequence holds ``fill``."""
    rng = np.random.default_rng(seed)
    ln, u_ln = rng.integers(1, t + 1, n), rng.integers(1, 4, n)
    s, a, u = rng.normal(size=(n, t, 4)), rng.normal(size=(n, t, 3)), rng.normal(size=(n, 3, 2))
    for arr, lengths in ((s, ln), (a, ln), (u, u_ln)):
        arr[np.arange(arr.shape[1])[None, :] >= lengths[:, None]] = fill
    y = (s[np.arange(n), 0, 0] > 0).astype(np.int64)
    y[:2] = [0, 1]
    splits = {"train": np.arange(0, n, 2), "valid": np.arange(1, n, 4), "test": np.arange(3, n, 4)}
    return MultimodalDataset(
        {"s": s, "a": a, "v": rng.normal(size=(n, 2)), "u": u},
        y,
        lengths={"s": ln, "a": ln, "u": u_ln},
        splits=splits,
    )


def dirty(batch: Batch, fill: float) -> Batch:
    """The same batch with ``fill`` in the padding of every sequence."""
    x = dict(batch.x)
    for name in batch.lengths:
        x[name] = torch.where(batch.mask(name).unsqueeze(-1), x[name], torch.tensor(fill))
    return Batch(x=x, y=batch.y, index=batch.index, lengths=batch.lengths)


def run(module: torch.nn.Module, batch: Batch, fn, seed: int = 0):
    """``fn(module, batch)`` -> tensors, then the gradients of their sum (fixed dropout draws)."""
    module.zero_grad()
    torch.manual_seed(seed)
    outs = fn(module, batch)
    sum(o.float().sum() for o in outs).backward()
    grads = [p.grad.clone() for p in module.parameters() if p.grad is not None]
    return [o.detach() for o in outs], grads


def assert_same_as_clean(module: torch.nn.Module, batch: Batch, fn) -> None:
    clean = run(module, batch, fn)
    assert all(torch.isfinite(o).all() for o in clean[0] + clean[1])
    for fill in FILLS:
        got = run(module, dirty(batch, fill), fn)
        for a, b in zip(clean[0] + clean[1], got[0] + got[1], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0, msg=f"padding {fill}")


# ------------------------------------------------------------------------------- every path
@pytest.mark.parametrize("kind", ["mlp", "gru", "transformer"])
def test_encoders_ignore_non_finite_padding(kind):
    from infofusion.encoders import make_encoder

    torch.manual_seed(0)
    data = padded_data()
    enc = make_encoder(ModalitySpec("s", 4, 5), 6, kind, hidden=16).train()
    assert_same_as_clean(enc, data.batch(torch.arange(12)), lambda m, b: [m(b.x["s"], b.mask("s"))])


def test_joint_method_ignores_non_finite_padding():
    from infofusion.registry import create

    torch.manual_seed(0)
    data = padded_data()
    model = create("method", "joint", spec=data.spec, hidden=16, embed_dim=8).train()
    assert_same_as_clean(model, data.batch(torch.arange(12)), lambda m, b: [m(b).prediction])


@pytest.mark.parametrize(
    "options",
    [
        {"prime_encoder": "mlp"},
        {"prime_encoder": "transformer", "readout": "fused"},
        {"preset": "reference", "order": ["s", "a", "u", "v"]},
    ],
    ids=["mlp", "transformer-fused", "reference"],
)
def test_ithp_detectors_and_links_ignore_non_finite_padding(options):
    """Prime padding, an aligned sequence detector (per-token links), an unaligned one (pooled)
    and the fused readout's encoders: outputs, every loss, diagnostics and gradients."""
    from infofusion.methods.ithp import ITHP

    torch.manual_seed(0)
    data = padded_data()
    opts = {"order": ["s", "a", "u", "v"], "hidden": 16, "inter_dim": 8, **options}
    model = ITHP.for_dataset(data, **opts).train()
    assert model.aligned == [True, False, False]

    def outputs(m, b):
        out = m(b)
        return [out.prediction, m.total_loss(out), *out.losses.values(), *out.diagnostics.values()]

    assert_same_as_clean(model, data.batch(torch.arange(12)), outputs)


def test_dataset_keeps_any_padding_and_pools_valid_steps_only():
    clean = padded_data()
    for fill in FILLS:
        data = padded_data(fill)  # accepted: only valid steps must be finite
        for name in ("s", "a", "u", "v"):
            torch.testing.assert_close(data.pooled(name), clean.pooled(name), rtol=0, atol=0)
        idx = torch.tensor([3, 1, 4])
        torch.testing.assert_close(
            data.pooled("u", idx, dtype=torch.float64), clean.pooled("u", idx, dtype=torch.float64)
        )
        z, zc = data.standardize().modality("s"), clean.standardize().modality("s")
        torch.testing.assert_close(z, zc, rtol=0, atol=0)
    s = clean.modality("s")
    ln = clean.lengths("s")
    expected = torch.stack([s[i, : ln[i]].mean(dim=0) for i in range(len(ln))])
    torch.testing.assert_close(clean.pooled("s"), expected)
    bad = clean.modality("s").numpy().copy()
    bad[0, 0, 1] = np.inf  # a valid step is still checked
    from infofusion.errors import DataValidationError

    with pytest.raises(DataValidationError, match="inf values in 1 samples .within their valid"):
        MultimodalDataset({"s": bad}, clean.target, lengths={"s": ln})


def test_scaling_statistics_and_measure_features_ignore_non_finite_padding():
    """ITHP detector scaling, the ITHP order's pooled features, the pointwise measures'
    features and the PID discretiser's pooling read valid steps only."""
    from infofusion.measures.classifiers import modality_features as _features
    from infofusion.measures.pid.discretize import _pool
    from infofusion.measures.pointwise.composition import pointwise_composition
    from infofusion.methods.ithp import ITHP
    from infofusion.methods.ithp_order import pooled

    clean = padded_data()
    order = ["s", "a", "u", "v"]
    ref = ITHP.for_dataset(clean, order=order, scale="minmax", hidden=8, inter_dim=4)
    ref_pw = pointwise_composition(clean, ("s", "u"), model="logistic")
    idx = clean.indices("train")
    for fill in FILLS:
        data = padded_data(fill)
        model = ITHP.for_dataset(data, order=order, scale="minmax", hidden=8, inter_dim=4)
        for det in ("a", "u", "v"):
            for buf in ("shift", "scale"):
                torch.testing.assert_close(
                    getattr(model.scalers[det], buf), getattr(ref.scalers[det], buf)
                )
        for name in ("s", "u"):
            np.testing.assert_array_equal(_features(data, name), _features(clean, name))
            np.testing.assert_array_equal(pooled(data, name, idx), pooled(clean, name, idx))
            np.testing.assert_array_equal(
                _pool(data.modality(name).numpy(), data.lengths(name).numpy()),
                _pool(clean.modality(name).numpy(), clean.lengths(name).numpy()),
            )
        pw = pointwise_composition(data, ("s", "u"), model="logistic")
        np.testing.assert_allclose(pw.atoms(), ref_pw.atoms())
