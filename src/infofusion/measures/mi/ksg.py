"""Kraskov–Stögbauer–Grassberger (KSG) nearest-neighbour MI, and Frenzel–Pompe conditional MI.

Both algorithms of Kraskov et al. (2004), on KD-trees with the max-norm in every space:

* algorithm 1: :math:`\\psi(k) + \\psi(N) - \\langle \\psi(n_x + 1) + \\psi(n_y + 1) \\rangle`,
  with :math:`n_x` the points strictly closer than the k-th joint neighbour in X;
* algorithm 2: :math:`\\psi(k) - 1/k + \\psi(N) - \\langle \\psi(n_x) + \\psi(n_y) \\rangle`,
  with per-space radii taken from the k neighbours themselves (non-strict counts);
* conditional (Frenzel & Pompe, 2007):
  :math:`\\psi(k) - \\langle \\psi(n_{xz} + 1) + \\psi(n_{yz} + 1) - \\psi(n_z + 1) \\rangle`.

The standard error reported is the standard deviation of the per-sample terms over
:math:`\\sqrt N`; the terms are weakly dependent through shared neighbours, so treat it as
approximate. Ties (discrete-valued columns) are broken with a negligible seeded jitter, as
scikit-learn does.

Two exact neighbour searches give the same estimate (to rounding of the final mean):

* ``tree``: KD-trees (scipy for the k nearest, scikit-learn for radius counts; one-dimensional
  spaces use a sorted array). Fast in a few dimensions; in many dimensions a KD-tree visits
  nearly every point and is slower than brute force.
* ``brute``: blocked brute force in torch (:mod:`infofusion.measures.mi._brute`). Rows are
  processed in blocks of bounded memory; each block forms the max-norm distances to all points
  per marginal space, their maximum is the joint distance, the k-th neighbour is selected per
  row and the radius counts of the marginal spaces come from the same distance blocks (no
  second search). O(N^2 D) time, O(block N) memory. The passes run in int16 or float32 and
  every decision they could get wrong is settled in float64, so the result is exact. With
  numba installed (the ``fast`` extra) the same search runs as one compiled loop per row
  (:mod:`infofusion.measures.mi._brute_compiled`, O(N) memory per thread) on every core; the
  ``kernel`` parameter chooses, and the result is the same.

``neighbors="auto"`` picks brute force when the joint space has at least
``BRUTE_MIN_DIM + N // BRUTE_DIM_PER_N`` columns (8 up to N = 10,000; 4 with the compiled
search), the trees otherwise.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma
from sklearn.neighbors import KDTree

from infofusion.errors import EstimationError
from infofusion.interfaces import Estimate
from infofusion.measures.mi._brute import brute_neighbours, resolve_kernel
from infofusion.measures.mi.base import (
    MIEstimatorBase,
    TorchThreads,
    check,
    mean_with_stderr,
    standardize,
)
from infofusion.registry import register
from infofusion.training.config import usable_cores


def count_within(points: np.ndarray, radius: np.ndarray, strict: bool = True) -> np.ndarray:
    """For each point, how many points (itself included) lie within ``radius`` in max-norm.

    Args:
        points: ``(N, D)``.
        radius: ``(N,)`` per-point radius.
        strict: count distances ``< radius`` (else ``<= radius``).

    Returns:
        ``(N,)`` int64 counts.
    """
    if points.shape[1] == 1:  # sorted array + binary search beats a tree in 1-d
        return _count_within_1d(points[:, 0], radius, strict)
    r = np.nextafter(radius, 0) if strict else radius
    # scikit-learn's tree counts whole nodes inside the ball without visiting their points,
    # which makes it several times faster than scipy's query_ball_point here.
    tree = KDTree(points, metric="chebyshev")
    return np.asarray(tree.query_radius(points, r, count_only=True), dtype=np.int64)


def _count_within_1d(v: np.ndarray, radius: np.ndarray, strict: bool) -> np.ndarray:
    s = np.sort(v)
    n = s.shape[0]
    hi = np.searchsorted(s, v + radius, side="left" if strict else "right")
    lo = np.searchsorted(s, v - radius, side="right" if strict else "left")

    # v +- radius is rounded, so the binary search can be one element off at the boundary;
    # settle it with the same |s_j - v| comparison the trees make
    def inside(j: np.ndarray) -> np.ndarray:
        d = np.abs(s[np.clip(j, 0, n - 1)] - v)
        return (d < radius) if strict else (d <= radius)

    hi = hi - ((hi > 0) & ~inside(hi - 1)) + ((hi < n) & inside(hi))
    lo = lo + ((lo < n) & ~inside(lo)) - ((lo > 0) & inside(lo - 1))
    return (hi - lo).astype(np.int64)


def knn(points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Max-norm distances ``(N,)`` to the k-th neighbour and indices ``(N, k)`` of the k neighbours."""
    dist, idx = cKDTree(points).query(points, k=k + 1, p=np.inf, workers=-1)
    return dist[:, k], idx[:, 1:]


def count_all(
    spaces: list[np.ndarray], radius: np.ndarray, strict: bool = True
) -> list[np.ndarray]:
    """:func:`count_within` in each space, in threads (the tree searches release the GIL)."""
    if len(spaces) == 1 or (os.cpu_count() or 1) == 1:
        return [count_within(s, radius, strict) for s in spaces]
    with ThreadPoolExecutor(max_workers=min(len(spaces), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda s: count_within(s, radius, strict), spaces))


#: ``neighbors="auto"`` searches by brute force when the joint dimension is at least
#: ``BRUTE_MIN_DIM + N // BRUTE_DIM_PER_N`` (KD-trees degrade with dimension, brute force
#: costs N^2; the crossover was measured at N = 1000, 5000 and 20000), or
#: ``BRUTE_MIN_DIM_COMPILED + N // BRUTE_DIM_PER_N`` with the compiled search (on every core).
BRUTE_MIN_DIM = 8
BRUTE_MIN_DIM_COMPILED = 4
BRUTE_DIM_PER_N = 10_000


def use_brute(n: int, dim: int, neighbors: str, kernel: str = "torch") -> bool:
    """Whether the neighbour search runs by brute force (see ``KSGParams.neighbors``)."""
    if neighbors != "auto":
        return neighbors == "brute"
    least = BRUTE_MIN_DIM_COMPILED if kernel == "compiled" else BRUTE_MIN_DIM
    return dim >= least + n // BRUTE_DIM_PER_N


def _check_ties(eps: np.ndarray) -> None:
    zero = int(np.count_nonzero(eps <= 0))
    if zero:
        raise EstimationError(
            f"ties: {zero} samples have their k-th neighbour at distance 0 (repeated rows); "
            "KSG needs jitter > 0 for such data, or use 'plugin' / 'mixed' for discrete data"
        )


def ksg_terms(
    x: np.ndarray,
    y: np.ndarray,
    k: int,
    algorithm: int = 1,
    neighbors: str = "auto",
    kernel: str = "torch",
    threads: int = 1,
) -> np.ndarray:
    """Per-sample KSG terms ``(N,)``; their mean is the KSG estimate of I(X; Y) in nats.

    ``kernel`` and ``threads`` choose the brute-force implementation
    (:func:`~infofusion.measures.mi._brute.brute_neighbours`); the trees ignore them.
    """
    n = x.shape[0]
    if use_brute(n, x.shape[1] + y.shape[1], neighbors):
        eps, (nx, ny) = brute_neighbours(
            [x, y], k, [(0,), (1,)], algorithm, kernel=kernel, threads=threads
        )
        _check_ties(eps)
        if algorithm == 1:
            return digamma(k) + digamma(n) - digamma(nx) - digamma(ny)
        return digamma(k) - 1.0 / k + digamma(n) - digamma(nx) - digamma(ny)
    joint = np.hstack([x, y])
    eps, idx = knn(joint, k)
    _check_ties(eps)
    if algorithm == 1:
        nx, ny = count_all([x, y], eps)  # each includes the point itself: n_x + 1, n_y + 1
        return digamma(k) + digamma(n) - digamma(nx) - digamma(ny)
    # algorithm 2: per-space radius = farthest of the k joint neighbours in that space
    eps_x = np.abs(x[idx] - x[:, None, :]).max(axis=(1, 2))
    eps_y = np.abs(y[idx] - y[:, None, :]).max(axis=(1, 2))
    nx = count_within(x, eps_x, strict=False) - 1
    ny = count_within(y, eps_y, strict=False) - 1
    return digamma(k) - 1.0 / k + digamma(n) - digamma(nx) - digamma(ny)


def ksg_cmi_terms(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    k: int,
    neighbors: str = "auto",
    kernel: str = "torch",
    threads: int = 1,
) -> np.ndarray:
    """Per-sample Frenzel–Pompe terms ``(N,)``; their mean estimates I(X; Y | Z) in nats."""
    # counts include the point itself, so each is n_* + 1 in Frenzel and Pompe's notation
    if use_brute(x.shape[0], x.shape[1] + y.shape[1] + z.shape[1], neighbors):
        eps, (nxz, nyz, nz) = brute_neighbours(
            [x, y, z], k, [(0, 2), (1, 2), (2,)], kernel=kernel, threads=threads
        )
    else:
        eps, _ = knn(np.hstack([x, y, z]), k)
        nxz, nyz, nz = count_all([np.hstack([x, z]), np.hstack([y, z]), z], eps)
    _check_ties(eps)
    return digamma(k) - digamma(nxz) - digamma(nyz) + digamma(nz)


@dataclass(frozen=True)
class KSGParams:
    """Parameters of the KSG estimator.

    Attributes:
        k: number of neighbours (larger: lower variance, more bias at high MI).
        algorithm: 1 or 2 (Kraskov et al., 2004). Conditional MI uses algorithm 1.
        standardize: scale every column to unit variance first (the max-norm is scale-bound).
        jitter: relative size of the tie-breaking noise added after standardising (0 = none).
        clip_negative: report ``max(0, value)`` (the raw estimate can dip below 0 at MI ~ 0).
        seed: seed of the jitter.
        neighbors: exact neighbour search: ``tree`` (KD-trees), ``brute`` (brute force) or
            ``auto`` (brute force from 8 joint columns at N < 10,000, from 4 with the compiled
            kernel; see :func:`use_brute`). Both give the same estimate.
        kernel: implementation of the brute-force search: ``torch`` (blocked passes),
            ``compiled`` (one fused loop per row compiled by numba, the ``fast`` extra; 2-3x
            faster on one thread, and it uses every core) or ``auto`` (``compiled`` when
            numba is importable and ``algorithm`` is 1). All give the same estimate; the one
            that ran is in ``Estimate.extra["kernel"]``.
        threads: CPU threads of the brute-force search; 0 (default): every core available to
            the process for the compiled search (``OMP_NUM_THREADS`` does not limit it, as it
            does not limit the trees' scipy query; set ``threads`` to share the machine), one
            for the torch search (torch's default thread count is far slower on a loaded
            machine).
    """

    k: int = 5
    algorithm: Literal[1, 2] = 1
    standardize: bool = True
    jitter: float = 1e-10
    clip_negative: bool = False
    seed: int = 0
    neighbors: Literal["auto", "tree", "brute"] = "auto"
    kernel: Literal["auto", "torch", "compiled"] = "auto"
    threads: int = 0

    def __post_init__(self) -> None:
        check(isinstance(self.k, int) and self.k >= 1, "k", self.k, "an integer >= 1")
        check(self.algorithm in (1, 2), "algorithm", self.algorithm, "1 or 2")
        check(self.jitter >= 0, "jitter", self.jitter, ">= 0")
        check(
            self.neighbors in ("auto", "tree", "brute"),
            "neighbors",
            self.neighbors,
            "'auto', 'tree' or 'brute'",
        )
        check(
            self.kernel in ("auto", "torch", "compiled"),
            "kernel",
            self.kernel,
            "'auto', 'torch' or 'compiled'",
        )
        check(isinstance(self.threads, int) and self.threads >= 0, "threads", self.threads, ">= 0")


def min_samples_for(k: int) -> int:
    """Fewest samples KSG accepts with ``k`` neighbours: ``2k + 2``.

    With fewer, the k-th neighbour ball holds a large share of the sample, the marginal counts
    saturate at N, and the estimate is a constant of k and N (0 at k = N - 1) whatever the data.
    """
    return 2 * k + 2


def _prepare(a: np.ndarray, p: KSGParams, rng: np.random.Generator, label: str) -> np.ndarray:
    a = standardize(a) if p.standardize else a
    with np.errstate(over="ignore"):
        spread = np.ptp(a, axis=0)
    if not np.isfinite(spread).all():
        raise EstimationError(
            f"{label}: differences between values overflow (values near 1e308); "
            "use standardize=True"
        )
    if p.jitter > 0:
        scale = max(1.0, float(np.mean(np.abs(a))))
        a = a + p.jitter * scale * rng.standard_normal(a.shape)
    return a


@register(
    "estimator",
    "ksg",
    help="Kraskov (KSG) k-NN MI, exact neighbours (trees or brute force); conditional too.",
)
class KSGEstimator(MIEstimatorBase):
    """KSG nearest-neighbour MI (algorithms 1 and 2), conditional MI by Frenzel–Pompe.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000); y = x + rng.standard_normal(2000)
        >>> round(KSGEstimator(k=5).estimate(x, y).value, 1)  # truth 0.5 log 2 = 0.35
        0.3
    """

    name = "ksg"
    Params = KSGParams
    supports_conditional = True

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: KSGParams = self._params
        n = x.shape[0]
        if n < min_samples_for(p.k):
            raise EstimationError(
                f"KSG with k={p.k} needs at least 2k + 2 = {min_samples_for(p.k)} samples, "
                f"got {n}; lower k"
            )
        rng = np.random.default_rng(p.seed)
        x, y = _prepare(x, p, rng, "x"), _prepare(y, p, rng, "y")
        dim = x.shape[1] + y.shape[1] + (0 if z is None else z.shape[1])
        kernel = "torch"
        if p.neighbors != "tree":
            kernel = resolve_kernel(p.kernel, 1 if z is not None else p.algorithm)
        brute = use_brute(n, dim, p.neighbors, kernel)
        extra = {"neighbors": "brute" if brute else "tree"}
        threads = 1
        if brute:
            threads = p.threads or (usable_cores() if kernel == "compiled" else 1)
            extra["kernel"] = kernel
        with TorchThreads(threads if brute and kernel == "torch" else 0):
            if z is None:
                terms = ksg_terms(x, y, p.k, p.algorithm, extra["neighbors"], kernel, threads)
            else:
                zp = _prepare(z, p, rng, "z")
                terms = ksg_cmi_terms(x, y, zp, p.k, extra["neighbors"], kernel, threads)
        value, stderr = mean_with_stderr(terms)
        if p.clip_negative:
            value = max(value, 0.0)
        return Estimate(value=value, stderr=stderr, extra=extra)
