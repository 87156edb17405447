"""The brute-force KSG neighbour search gives exactly the KD-tree answer, in every precision."""

from __future__ import annotations

import numpy as np
import pytest

from infofusion.measures.mi import _brute, estimate_mi
from infofusion.measures.mi._brute import _Counter, brute_neighbours, choose_precision
from infofusion.measures.mi.ksg import KSGParams, _prepare, count_all, knn, use_brute


def _pair(kind: str, n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        x = rng.standard_normal((n, d))
        y = 0.6 * x + rng.standard_normal((n, d))
    elif kind == "t2":
        x = rng.standard_t(2, (n, d))
        y = x + rng.standard_t(2, (n, d))
    else:  # cauchy: extreme outliers
        x = rng.standard_cauchy((n, d))
        y = x + rng.standard_cauchy((n, d))
    p, r = KSGParams(k=5), np.random.default_rng(0)
    return _prepare(x, p, r, "x"), _prepare(y, p, r, "y")


@pytest.mark.parametrize("kind", ["gauss", "t2", "cauchy"])
@pytest.mark.parametrize("precision", ["int16", "float32", "float64"])
def test_brute_equals_trees_exactly(kind, precision):
    x, y = _pair(kind, 700, 3, seed=1)
    eps, _ = knn(np.hstack([x, y]), 5)
    nx, ny = count_all([x, y], eps)
    e2, (bx, by) = brute_neighbours([x, y], 5, [(0,), (1,)], precision=precision)
    np.testing.assert_array_equal(e2, eps)
    np.testing.assert_array_equal(bx, nx)
    np.testing.assert_array_equal(by, ny)


def test_precision_is_chosen_by_the_spread_of_the_data():
    assert choose_precision(list(_pair("gauss", 500, 2))) == "int16"
    assert choose_precision(list(_pair("cauchy", 500, 2))) in ("float32", "float64")


@pytest.mark.parametrize("algorithm", [1, 2])
def test_estimates_agree_to_1e9(algorithm):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((900, 6))
    y = np.tanh(x[:, :4]) + 0.5 * rng.standard_normal((900, 4))
    tree = estimate_mi(x, y, estimator="ksg", k=4, algorithm=algorithm, neighbors="tree")
    brute = estimate_mi(
        x, y, estimator="ksg", k=4, algorithm=algorithm, neighbors="brute", kernel="torch"
    )
    assert brute.extra["neighbors"] == "brute" and tree.extra["neighbors"] == "tree"
    assert brute.extra["kernel"] == "torch"
    assert brute.value == pytest.approx(tree.value, abs=1e-9)
    assert brute.stderr == pytest.approx(tree.stderr, abs=1e-9)


def test_conditional_estimates_agree_to_1e9():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((800, 3))
    x = z + 0.5 * rng.standard_normal((800, 3))
    y = z[:, :2] + x[:, :2] + rng.standard_normal((800, 2))
    tree = estimate_mi(x, y, z=z, estimator="ksg", neighbors="tree").value
    brute = estimate_mi(x, y, z=z, estimator="ksg", neighbors="brute", kernel="torch").value
    assert brute == pytest.approx(tree, abs=1e-9)


def test_auto_switches_by_dimension_and_sample_count():
    assert not use_brute(5000, 2, "auto") and use_brute(5000, 10, "auto")
    assert not use_brute(50_000, 10, "auto") and use_brute(50_000, 20, "auto")
    assert use_brute(10, 1, "brute") and not use_brute(10, 50, "tree")
    x, y = _pair("gauss", 300, 5)
    assert estimate_mi(x, y, estimator="ksg").extra["neighbors"] == "brute"
    assert estimate_mi(x[:, :1], y[:, :1], estimator="ksg").extra["neighbors"] == "tree"


@pytest.mark.parametrize("n", [12, 40])
def test_small_samples_take_every_point_as_candidate(n):
    x, y = _pair("gauss", n, 4, seed=4)
    eps, _ = knn(np.hstack([x, y]), 5)
    e2, counts = brute_neighbours([x, y], 5, [(0,), (1,)], precision="int16")
    np.testing.assert_array_equal(e2, eps)
    for got, want in zip(counts, count_all([x, y], eps), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [5, 8, 9, 2039, 2041, 4100])
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_mask_counter_equals_count_nonzero(n, dtype):
    # 2041 and 4100 columns need more than 255 eight-byte words per row: sums in parts
    rng = np.random.default_rng(n)
    sp = rng.integers(0, 300, (13, n)).astype(dtype)
    t = rng.integers(0, 300, 13).astype(dtype)
    counter = _Counter(13, n)
    for m in (13, 4):  # a full block and a shorter last block reuse one buffer
        want = np.count_nonzero(sp[:m] < t[:m, None], axis=1)
        np.testing.assert_array_equal(counter.below(sp[:m], t[:m]), want)


@pytest.mark.parametrize("precision", ["int16", "float32"])
@pytest.mark.parametrize("n", [703, 1001])
def test_grouped_preselection_with_leftover_columns_is_exact(precision, n):
    # n not a multiple of the group size: the last columns join every row's candidates; k = 10
    # as in the benchmark
    x, y = _pair("t2", n, 2, seed=5)
    eps, _ = knn(np.hstack([x, y]), 10)
    e2, counts = brute_neighbours([x, y], 10, [(0,), (1,)], precision=precision)
    np.testing.assert_array_equal(e2, eps)
    for got, want in zip(counts, count_all([x, y], eps), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("precision", ["int16", "float32"])
def test_near_ties_fall_back_to_exact_reranking(precision, monkeypatch):
    # points on a lattice plus a tiny jitter: many narrow distances tie at the k-th rank, so the
    # one-distance shortcut must give way to re-ranking the candidates in float64
    rng = np.random.default_rng(6)
    x = np.round(2 * rng.standard_normal((600, 2))) / 2 + 1e-7 * rng.standard_normal((600, 2))
    y = np.round(2 * rng.standard_normal((600, 2))) / 2 + 1e-7 * rng.standard_normal((600, 2))
    reranked = []
    real = _brute.exact_max_norm

    def spy(atoms, sel, i, j):
        out = real(atoms, sel, i, j)
        if out.ndim == 2 and out.shape[1] < 600:
            reranked.append(out.shape[0])
        return out

    monkeypatch.setattr(_brute, "exact_max_norm", spy)
    eps, _ = knn(np.hstack([x, y]), 5)
    e2, counts = brute_neighbours([x, y], 5, [(0,), (1,)], precision=precision)
    assert sum(reranked) > 0  # the fallback ran
    np.testing.assert_array_equal(e2, eps)
    for got, want in zip(counts, count_all([x, y], eps), strict=True):
        np.testing.assert_array_equal(got, want)
