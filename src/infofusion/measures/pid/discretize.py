"""Discretisation of continuous modalities for the exact PID solver.

Each modality is clustered with k-means, either on its representation (standardised features;
sequences are mean-pooled over valid steps) or on the class probabilities of a unimodal model.
Model probabilities are cross-fitted: every row gets the prediction of a model that never saw
it (K folds), so no row is represented by an in-sample, over-confident probability. A modality
that takes few distinct values (at most ``exact_max`` rows differ) is not clustered at all:
each distinct row is its own symbol, which loses nothing. Every choice (k, seed,
representation, inertia, cluster sizes) is returned in a :class:`Discretization` record so
results can be reproduced and audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, EstimationError


@dataclass
class Discretization:
    """Cluster labels of one modality and the choices that produced them.

    Attributes:
        labels: ``(N,)`` int64 cluster index per sample.
        k: number of clusters actually used.
        method: ``"kmeans"``, or ``"distinct"`` (each distinct row a symbol) for data with few
            distinct values.
        representation: ``"features"`` or ``"model"`` (cross-fitted unimodal class probabilities).
        seed: random seed of k-means.
        inertia: k-means within-cluster sum of squares (on the fitted rows).
        sizes: ``(k,)`` cluster sizes.
        fit_rows: number of rows the clustering was fitted on.
    """

    labels: np.ndarray
    k: int
    method: str
    representation: str
    seed: int
    inertia: float | None = None
    sizes: list[int] = field(default_factory=list)
    fit_rows: int = 0

    def record(self) -> dict[str, Any]:
        """The choices, without the labels (for result records)."""
        return {
            "k": self.k,
            "method": self.method,
            "representation": self.representation,
            "seed": self.seed,
            "inertia": self.inertia,
            "sizes": self.sizes,
            "fit_rows": self.fit_rows,
        }


def _pool(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """``(N, T, D)`` sequences -> ``(N, D)`` means over valid steps; ``(N, D)`` unchanged."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim == 2:
        return x
    if lengths is None:
        return x.mean(axis=1)
    import torch

    from infofusion.functional.pooling import lengths_mask, masked_mean

    mask = lengths_mask(torch.as_tensor(np.asarray(lengths)), x.shape[1])
    return masked_mean(torch.from_numpy(x), mask).numpy()


def cross_fitted_probabilities(
    feats: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """``(N, C)`` out-of-fold class probabilities of a logistic-regression model.

    Rows are split into ``folds`` stratified folds; each fold is scored by a model fitted on the
    others (standardised on them too), so no row's probability comes from a model that saw it.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y)
    classes = np.unique(y)
    out = np.zeros((len(y), int(classes.max()) + 1))
    counts = np.bincount(y)
    n_splits = int(min(folds, counts[counts > 0].min())) if len(classes) > 1 else 0
    if n_splits < 2:  # a class with a single sample cannot be held out: fall back to the prior
        out[:] = np.bincount(y, minlength=out.shape[1]) / len(y)
        return out
    for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(feats, y):
        sc = StandardScaler().fit(feats[tr])
        clf = LogisticRegression(max_iter=1000).fit(sc.transform(feats[tr]), y[tr])
        out[np.ix_(te, clf.classes_)] = clf.predict_proba(sc.transform(feats[te]))
    return out


def discretize(
    x: np.ndarray,
    k: int = 10,
    *,
    lengths: np.ndarray | None = None,
    fit_index: np.ndarray | None = None,
    representation: str = "features",
    y: np.ndarray | None = None,
    seed: int = 0,
    exact_max: int = 64,
) -> Discretization:
    """Cluster one modality into at most ``k`` groups (or keep its few distinct values).

    Args:
        x: ``(N, D)`` features, ``(N, T, D)`` sequences or ``(N,)`` values.
        k: number of clusters, >= 2 (fewer if there are fewer distinct rows).
        lengths: ``(N,)`` valid lengths for sequences.
        fit_index: rows to fit the clustering on; default all rows.
        representation: ``"features"`` (standardised features) or ``"model"`` (cross-fitted
            class probabilities of a logistic-regression model of ``y``; see
            :func:`cross_fitted_probabilities`).
        y: ``(N,)`` integer labels, needed for ``representation="model"``.
        seed: k-means and fold seed.
        exact_max: a modality with at most this many distinct rows is used as it is (each
            distinct row one symbol), whatever ``k``.

    Returns:
        :class:`Discretization` with labels for all N rows.

    Raises:
        ConfigError: ``k < 2`` (one cluster carries no information: every atom would be 0),
            an unknown representation, or ``representation="model"`` without labels.
    """
    from sklearn.cluster import KMeans

    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ConfigError(
            f"k must be an integer >= 2 (clusters per modality; with one cluster every atom is "
            f"0), got {k!r}"
        )
    if representation not in ("features", "model"):
        raise ConfigError(f"representation must be 'features' or 'model', got {representation!r}")
    feats = _pool(x, lengths)
    n = feats.shape[0]
    if not np.isfinite(feats).all():
        raise EstimationError("the features contain NaN or inf; clean them before a PID")
    fit = np.arange(n) if fit_index is None else np.asarray(fit_index)
    distinct, codes = np.unique(feats, axis=0, return_inverse=True)
    if len(distinct) <= exact_max:
        codes = codes.ravel().astype(np.int64)
        return Discretization(
            labels=codes, k=len(distinct), method="distinct", representation="values", seed=seed,
            sizes=np.bincount(codes).tolist(), fit_rows=n,
        )
    if representation == "model":
        if y is None:
            raise ConfigError("representation='model' needs the labels y")
        feats = cross_fitted_probabilities(feats, np.asarray(y), seed=seed)
    else:
        mean = feats[fit].mean(axis=0)
        std = feats[fit].std(axis=0)
        feats = (feats - mean) / np.where(std > 1e-12, std, 1.0)
    n_distinct = len(np.unique(np.round(feats[fit], 12), axis=0))
    k_eff = int(min(k, n_distinct, len(fit)))
    if k_eff < 1:
        raise EstimationError("no rows to fit the clustering on")
    from threadpoolctl import threadpool_limits

    # k-means on a few thousand rows gains nothing from OpenMP threads, and on a busy machine
    # their synchronisation costs 10-100x the arithmetic
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=k_eff, n_init=4, random_state=seed).fit(feats[fit])
        labels = km.predict(feats).astype(np.int64)
    return Discretization(
        labels=labels, k=k_eff, method="kmeans", representation=representation, seed=seed,
        inertia=float(km.inertia_), sizes=np.bincount(labels, minlength=k_eff).tolist(),
        fit_rows=len(fit),
    )


def discretize_target(y: np.ndarray, bins: int = 5) -> tuple[np.ndarray, dict[str, Any]]:
    """Class labels pass through; a continuous target is cut into ``bins`` quantile bins.

    Raises:
        ConfigError: ``bins < 2`` for a continuous target.
    """
    y = np.asarray(y)
    if y.dtype.kind in "iub":
        _, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.int64), {"target": "classes"}
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ConfigError(f"target_bins must be an integer >= 2, got {bins!r}")
    edges = np.unique(np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.searchsorted(edges, y, side="right").astype(np.int64), {
        "target": "quantile_bins",
        "edges": edges.tolist(),
    }
