r"""Diffusion spectral mutual information (DSMI) between a representation and labels.

With DSE the diffusion spectral entropy of :mod:`infofusion.functional.diffusion` (Liao, Liu et
al., 2023),

.. math:: \mathrm{DSMI}(Z; Y) = \mathrm{DSE}(Z) - \sum_y p(y)\, \mathrm{DSE}(Z \mid Y = y),

how much less spread the representation is within a class than overall. DSE depends on the
number of points, so by default (``matched=True``, as the reference code) each class is compared
with random subsets of Z of the class's size instead of with all of Z:
:math:`\sum_y p(y)\,[\overline{\mathrm{DSE}(Z_{\text{random } n_y})} - \mathrm{DSE}(Z \mid y)]`,
which is about 0 for labels independent of Z at any N. Every DSE uses one kernel width, chosen
on all of Z.

It is a spectral, geometry-based dependence measure, **not** Shannon MI: for k tight,
well-separated clusters labelled by cluster it is :math:`\log k`, for labels independent of the
points about 0, but in general its value depends on the kernel width and the diffusion time.
Its selling point (shown by ``benchmarks/dse_noise.py``) is robustness: DSE tracks the intrinsic
dimension of a noisy representation where binned entropy saturates.

Use :func:`dsmi` on any array (a layer's output of a trained method, with the labels), or the
registered estimator ``dsmi`` (``infofusion mi Z.npy labels.npy -e dsmi``), which reports nats
and also accepts a continuous target (binned, or clustered when multi-dimensional).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infofusion.errors import EstimationError
from infofusion.functional.diffusion import (
    diffusion_eigenvalues,
    median_distance,
    spectral_entropy,
)
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, check
from infofusion.measures.mi.plugin import _is_discrete, symbols
from infofusion.registry import register


@dataclass
class DSMIResult:
    """DSMI of a representation with labels, and its parts (all in ``unit``).

    Attributes:
        value: DSMI.
        stderr: spread of the size-matched reference over its random repeats (the only random
            part; 0 without matching).
        dse: DSE of the whole representation.
        per_class: label -> ``(p(y), DSE(Z | y), reference DSE)``.
        sigma: kernel width used for every DSE.
        n: number of points used (after subsampling).
        unit: ``bits`` or ``nats``.
    """

    value: float
    stderr: float
    dse: float
    per_class: dict[Any, tuple[float, float, float]] = field(default_factory=dict)
    sigma: float = 1.0
    n: int = 0
    unit: str = "bits"


def dsmi(
    z: Any,
    labels: Any,
    sigma: float | None = None,
    t: float = 1.0,
    knn: int | None = None,
    matched: bool = True,
    repeats: int = 5,
    max_samples: int | None = 1000,
    seed: int = 0,
    base: float = 2.0,
    threads: int = 1,
) -> DSMIResult:
    """DSMI between the rows of a representation and their labels.

    Args:
        z: ``(N, D)`` representation (e.g. a layer's output on a dataset); ``(N,)`` is one column.
        labels: ``(N,)`` discrete labels (any hashable values).
        sigma: kernel width (``None``: the median pairwise distance of the points used).
        t: diffusion steps.
        knn: sparsify the affinity graph to k nearest neighbours (``None``: full graph).
        matched: compare each class with random subsets of its size (see the module docstring).
        repeats: random subsets per class for the matched reference.
        max_samples: subsample to at most this many points first (DSE costs O(N^3));
            ``None``: use every point.
        seed: seed of the subsampling and of the matched subsets.
        base: 2 for bits (the paper's unit), ``math.e`` for nats.
        threads: BLAS threads of the eigendecompositions (0 = leave the library's setting).
            One is the fastest for these sizes and several times faster on a loaded machine.

    Returns:
        :class:`DSMIResult`.

    Raises:
        EstimationError: shapes that do not match, or fewer than 4 points.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> labels = np.repeat(np.arange(4), 50)
        >>> z = np.eye(4)[labels] * 100.0 + rng.standard_normal((200, 4)) * 0.01
        >>> round(dsmi(z, labels, sigma=1.0).value, 1)   # log2 of 4 separated classes
        2.0
    """
    z = np.asarray(z, dtype=np.float64)
    z = z.reshape(-1, 1) if z.ndim == 1 else z
    labels = np.asarray(labels).reshape(-1)
    if z.ndim != 2 or labels.shape[0] != z.shape[0]:
        raise EstimationError(
            f"the representation has {z.shape[0]} rows but there are {labels.shape[0]} labels"
        )
    rng = np.random.default_rng(seed)
    if max_samples is not None and z.shape[0] > max_samples:
        keep = rng.choice(z.shape[0], max_samples, replace=False)
        z, labels = z[keep], labels[keep]
    n = z.shape[0]
    if n < 4:
        raise EstimationError(f"DSMI needs at least 4 points, got {n}")
    s = median_distance(z) if sigma is None else sigma

    def dse(points: np.ndarray) -> float:
        if points.shape[0] < 2:
            return 0.0
        return spectral_entropy(diffusion_eigenvalues(points, s, knn), t, base)

    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads or None, user_api="blas"):
        return _dsmi(z, labels, n, dse, matched, repeats, rng, s, base)


def _dsmi(
    z: np.ndarray,
    labels: np.ndarray,
    n: int,
    dse: Any,
    matched: bool,
    repeats: int,
    rng: np.random.Generator,
    s: float,
    base: float,
) -> DSMIResult:
    """The sums of :func:`dsmi` once the points, the width and the DSE function are fixed."""
    total = dse(z)
    per_class: dict[Any, tuple[float, float, float]] = {}
    value = 0.0
    draws = np.zeros(max(1, repeats))
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        p_c = len(members) / n
        h_c = dse(z[members])
        if matched:
            refs = np.array(
                [dse(z[rng.choice(n, len(members), replace=False)]) for _ in range(repeats)]
            )
            ref = float(refs.mean())
            draws += p_c * (refs - h_c)
        else:
            ref = total
        per_class[c.item() if hasattr(c, "item") else c] = (p_c, h_c, ref)
        value += p_c * (ref - h_c)
    stderr = float(draws.std(ddof=1) / math.sqrt(repeats)) if matched and repeats > 1 else 0.0
    return DSMIResult(
        value=value,
        stderr=stderr,
        dse=total,
        per_class=per_class,
        sigma=s,
        n=n,
        unit="bits" if base == 2.0 else ("nats" if base == math.e else f"log{base}"),
    )


@dataclass(frozen=True)
class DSMIParams:
    """Parameters of the ``dsmi`` estimator (see :func:`dsmi`).

    Attributes:
        sigma: kernel width (``None``: median pairwise distance of x).
        t: diffusion steps.
        knn: k of a sparsified kNN graph (``None``: full Gaussian graph).
        matched: size-matched reference per class.
        repeats: random subsets per class.
        max_samples: subsample to at most this many points (``None``: all).
        bins: equal-width bins for a continuous one-column y (10, as the reference code).
        clusters: k-means clusters for a continuous multi-column y.
        max_levels: most distinct values for y to be taken as labels as given.
        seed: seed of subsampling, matched subsets and clustering.
        threads: BLAS threads of the eigendecompositions (0 = leave the library's setting).
    """

    sigma: float | None = None
    t: float = 1.0
    knn: int | None = None
    matched: bool = True
    repeats: int = 5
    max_samples: int | None = 1000
    bins: int = 10
    clusters: int = 10
    max_levels: int = 100
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        check(self.sigma is None or self.sigma > 0, "sigma", self.sigma, "None or > 0")
        check(self.t > 0, "t", self.t, "> 0")
        check(self.knn is None or self.knn >= 1, "knn", self.knn, "None or >= 1")
        check(self.repeats >= 1, "repeats", self.repeats, ">= 1")
        check(
            self.max_samples is None or self.max_samples >= 4,
            "max_samples",
            self.max_samples,
            "None or >= 4",
        )
        check(isinstance(self.threads, int) and self.threads >= 0, "threads", self.threads, ">= 0")
        for name in ("bins", "clusters", "max_levels"):
            v = getattr(self, name)
            check(isinstance(v, int) and v >= 2, name, v, "an integer >= 2")


def labels_of(y: np.ndarray, p: DSMIParams) -> tuple[np.ndarray, str]:
    """Discrete labels of ``(N, Dy)`` y and how they were made (``given``/``binned``/``clustered``)."""
    if _is_discrete(y, p.max_levels):
        return symbols(y), "given"
    if y.shape[1] == 1:
        edges = np.linspace(y.min(), y.max(), p.bins + 1)[1:-1]
        return np.searchsorted(edges, y[:, 0], side="right"), "binned"
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=min(p.clusters, y.shape[0]), n_init=4, random_state=p.seed)
    return km.fit_predict(y), "clustered"


@register(
    "estimator",
    "dsmi",
    help="Diffusion spectral MI of a representation x with labels y; not Shannon MI.",
)
class DSMIEstimator(MIEstimatorBase):
    """DSMI(X; Y) of a representation ``x`` with labels ``y``, in nats (asymmetric)."""

    name = "dsmi"
    Params = DSMIParams
    quantity = "diffusion_mi"
    min_samples = 4

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: DSMIParams = self._params
        labels, how = labels_of(y, p)
        res = dsmi(
            x,
            labels,
            sigma=p.sigma,
            t=p.t,
            knn=p.knn,
            matched=p.matched,
            repeats=p.repeats,
            max_samples=p.max_samples,
            seed=p.seed,
            base=math.e,
            threads=p.threads,
        )
        return Estimate(
            value=res.value,
            stderr=res.stderr,
            n=res.n,
            extra={
                "dse": res.dse,
                "sigma": res.sigma,
                "labels": how,
                "classes": len(res.per_class),
            },
        )
