"""Discretisation of continuous modalities for the exact PID solver.

Each modality is clustered with k-means, either on its representation (standardised features;
sequences are mean-pooled over valid steps) or on the class probabilities of a unimodal model
trained on the training split. Every choice (k, seed, representation, inertia, cluster sizes) is
returned in a :class:`Discretization` record so results can be reproduced and audited.
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
        method: ``"kmeans"`` (or ``"identity"`` for data that is already discrete).
        representation: ``"features"`` or ``"model"`` (unimodal class probabilities).
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


def is_discrete(x: np.ndarray, max_levels: int = 64) -> bool:
    """True when ``x`` is one integer-valued column with few levels (no clustering needed)."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        return False
    return bool(np.all(x == np.round(x)) and len(np.unique(x)) <= max_levels)


def discretize(
    x: np.ndarray,
    k: int = 10,
    *,
    lengths: np.ndarray | None = None,
    fit_index: np.ndarray | None = None,
    representation: str = "features",
    y: np.ndarray | None = None,
    seed: int = 0,
) -> Discretization:
    """Cluster one modality into at most ``k`` groups.

    Args:
        x: ``(N, D)`` features, ``(N, T, D)`` sequences or ``(N,)`` values.
        k: number of clusters (fewer if there are fewer distinct rows).
        lengths: ``(N,)`` valid lengths for sequences.
        fit_index: rows to fit the clustering (and the unimodal model) on; default all rows.
        representation: ``"features"`` (standardised features) or ``"model"`` (class
            probabilities of a logistic-regression model trained on ``fit_index`` rows of
            ``(x, y)``).
        y: ``(N,)`` integer labels, needed for ``representation="model"``.
        seed: k-means seed.

    Returns:
        :class:`Discretization` with labels for all N rows.
    """
    from sklearn.cluster import KMeans

    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    feats = _pool(x, lengths)
    n = feats.shape[0]
    fit = np.arange(n) if fit_index is None else np.asarray(fit_index)
    if is_discrete(feats) and len(np.unique(feats)) <= k:
        _, labels = np.unique(feats[:, 0], return_inverse=True)
        return Discretization(
            labels=labels.astype(np.int64), k=int(labels.max()) + 1, method="identity",
            representation="values", seed=seed, sizes=np.bincount(labels).tolist(), fit_rows=n,
        )
    if representation == "model":
        if y is None:
            raise ConfigError("representation='model' needs the labels y")
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        sc = StandardScaler().fit(feats[fit])
        clf = LogisticRegression(max_iter=500).fit(sc.transform(feats[fit]), np.asarray(y)[fit])
        feats = clf.predict_proba(sc.transform(feats))
    elif representation == "features":
        mean = feats[fit].mean(axis=0)
        std = feats[fit].std(axis=0)
        feats = (feats - mean) / np.where(std > 1e-12, std, 1.0)
    else:
        raise ConfigError(f"representation must be 'features' or 'model', got {representation!r}")
    n_distinct = len(np.unique(np.round(feats[fit], 12), axis=0))
    k_eff = int(min(k, n_distinct, len(fit)))
    if k_eff < 1:
        raise EstimationError("no rows to fit the clustering on")
    km = KMeans(n_clusters=k_eff, n_init=4, random_state=seed).fit(feats[fit])
    labels = km.predict(feats).astype(np.int64)
    return Discretization(
        labels=labels, k=k_eff, method="kmeans", representation=representation, seed=seed,
        inertia=float(km.inertia_), sizes=np.bincount(labels, minlength=k_eff).tolist(),
        fit_rows=len(fit),
    )


def discretize_target(y: np.ndarray, bins: int = 5) -> tuple[np.ndarray, dict[str, Any]]:
    """Class labels pass through; a continuous target is cut into ``bins`` quantile bins."""
    y = np.asarray(y)
    if y.dtype.kind in "iub":
        _, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.int64), {"target": "classes"}
    edges = np.unique(np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.searchsorted(edges, y, side="right").astype(np.int64), {
        "target": "quantile_bins",
        "edges": edges.tolist(),
    }
