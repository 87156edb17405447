"""The compiled (numba) neighbour search gives exactly the KD-tree answer; kernel selection."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.errors import ConfigError, EstimationError
from infofusion.measures.mi import _brute, estimate_mi
from infofusion.measures.mi._brute import brute_neighbours, resolve_kernel
from infofusion.measures.mi.ksg import KSGParams, _prepare, count_all, knn

numba = pytest.importorskip("numba")
from infofusion.measures.mi import _brute_compiled  # noqa: E402


def _data(kind: str, n: int, dims: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    p, r = KSGParams(k=5), np.random.default_rng(0)
    out = []
    base = rng.standard_normal((n, max(dims)))
    for d in dims:
        if kind == "gauss":
            a = 0.7 * base[:, :d] + rng.standard_normal((n, d))
        elif kind == "cauchy":  # extreme outliers: the float64 passes
            a = base[:, :d] + rng.standard_cauchy((n, d))
        else:  # lattice + tiny jitter: many near ties at the k-th rank and at the radius
            a = np.round(2 * (base[:, :d] + rng.standard_normal((n, d)))) / 2
            a = a + 1e-7 * rng.standard_normal((n, d))
        out.append(_prepare(a, p, r, "a"))
    return out


def _tree(atoms: list[np.ndarray], k: int, sets: list[tuple[int, ...]]):
    eps, _ = knn(np.hstack(atoms), k)
    spaces = [np.hstack([atoms[a] for a in s]) for s in sets]
    return eps, count_all(spaces, eps)


def _check(atoms, k, sets, **kw):
    eps, counts = _tree(atoms, k, sets)
    e2, c2 = brute_neighbours(atoms, k, sets, kernel="compiled", **kw)
    np.testing.assert_array_equal(e2, eps)
    for got, want in zip(c2, counts, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", ["gauss", "cauchy", "lattice"])
@pytest.mark.parametrize("dims", [(1, 1), (3, 3), (5, 5), (9, 4), (13, 17)])
def test_compiled_equals_trees_exactly(kind, dims):
    # 13 and 17 columns take the eight-, four-, two- and one-column sweeps
    _check(_data(kind, 700, dims, seed=sum(dims)), 5, [(0,), (1,)], threads=2)


@pytest.mark.parametrize("precision", ["int16", "float32", "float64"])
@pytest.mark.parametrize("k", [1, 10])
def test_every_precision_and_k_give_the_tree_answer(precision, k):
    _check(_data("gauss", 900, (4, 4), seed=k), k, [(0,), (1,)], precision=precision, threads=1)


def test_conditional_count_sets_equal_trees():
    atoms = _data("gauss", 650, (3, 2, 4), seed=7)
    _check(atoms, 4, [(0, 2), (1, 2), (2,)], threads=3)


@pytest.mark.parametrize("n", [12, 22, 40, 130])
def test_small_samples_every_group_size(n):
    # n <= 2 (k + 1): every point is a candidate; larger n: groups of two and more columns,
    # with leftover columns after the last full group
    _check(_data("gauss", n, (4, 3), seed=n), 5, [(0,), (1,)], threads=1)


def test_threads_and_chunks_do_not_change_the_result():
    atoms = _data("lattice", 1300, (5, 5), seed=3)  # several chunks of CHUNK rows
    one = brute_neighbours(atoms, 10, [(0,), (1,)], kernel="compiled", threads=1)
    four = brute_neighbours(atoms, 10, [(0,), (1,)], kernel="compiled", threads=4)
    np.testing.assert_array_equal(one[0], four[0])
    for a, b in zip(one[1], four[1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("m", [1, 2, 7, 64, 301])
def test_select_is_the_kth_order_statistic(m):
    rng = np.random.default_rng(m)
    a = rng.integers(0, max(2, m // 3), m).astype(np.float64)  # many duplicates
    for k in range(0, m, max(1, m // 9)):
        assert _brute_compiled._select(a.copy(), m, k) == np.sort(a)[k]


def test_estimator_reports_the_kernel_and_agrees_with_torch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((800, 6))
    y = np.tanh(x[:, :5]) + 0.5 * rng.standard_normal((800, 5))
    comp = estimate_mi(x, y, estimator="ksg", k=4, kernel="compiled")
    torch_ = estimate_mi(x, y, estimator="ksg", k=4, kernel="torch")
    auto = estimate_mi(x, y, estimator="ksg", k=4)
    assert comp.extra["kernel"] == "compiled" == auto.extra["kernel"]
    assert torch_.extra["kernel"] == "torch"
    assert comp.value == pytest.approx(torch_.value, abs=1e-9)
    assert comp.stderr == pytest.approx(torch_.stderr, abs=1e-9)
    z = rng.standard_normal((800, 3))
    cmi = [
        estimate_mi(x, y, z=z, estimator="ksg", kernel=kern).value for kern in ("compiled", "torch")
    ]
    assert cmi[0] == pytest.approx(cmi[1], abs=1e-9)


def test_kernel_resolution_and_errors(monkeypatch):
    assert resolve_kernel("auto", 1) == "compiled"
    assert resolve_kernel("auto", 2) == "torch"  # the compiled loop is algorithm 1 only
    assert resolve_kernel("torch", 1) == "torch"
    with pytest.raises(EstimationError, match="algorithm 1 only"):
        resolve_kernel("compiled", 2)
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((300, 5)), rng.standard_normal((300, 5))
    # algorithm 2 under `auto` runs on torch
    est = estimate_mi(x, y, estimator="ksg", algorithm=2)
    assert est.extra["kernel"] == "torch"
    # numba missing (or broken): `auto` falls back to torch, `compiled` names the problem
    monkeypatch.setattr(_brute, "_compiled_module", lambda: ImportError("No module named 'numba'"))
    assert resolve_kernel("auto", 1) == "torch"
    assert estimate_mi(x, y, estimator="ksg").extra["kernel"] == "torch"
    with pytest.raises(EstimationError, match="numba.*'fast' extra"):
        estimate_mi(x, y, estimator="ksg", kernel="compiled")


def test_bad_kernel_name_is_a_typed_error():
    with pytest.raises(ConfigError, match="'kernel'.*'gpu'"):
        KSGParams(kernel="gpu")
