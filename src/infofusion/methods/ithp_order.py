"""Automatic modality order for ITHP: rank candidate primes and detectors by estimated MI.

The prime is the modality carrying the most information about the target (under the reference
readout the prediction depends on the prime alone). Detectors are then ranked either by their
own information about the target (``criterion="target"``) or by what they share with the prime
(``criterion="prime"``), highest first, so the first, most heavily weighted link reconstructs the
most useful detector. Sequences are pooled (masked mean over valid steps) and every modality is
reduced to at most ``max_dim`` principal components before estimation, since MI estimators
degrade quickly with dimension and sample count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, MissingDependencyError

CRITERIA = ("target", "prime")


@dataclass
class OrderReport:
    """The order chosen and the estimates it was chosen from (all MI values in nats).

    Attributes:
        prime: the prime modality.
        detectors: detector modalities, first link first.
        mi_target: modality -> estimated I(X_m; Y).
        mi_prime: detector -> estimated I(X_prime; X_d).
        estimator: name (or class name) of the MI estimator used.
        criterion: how detectors were ranked (``"target"`` or ``"prime"``).
        n: number of training samples used for the estimates.
    """

    prime: str
    detectors: list[str]
    mi_target: dict[str, float] = field(default_factory=dict)
    mi_prime: dict[str, float] = field(default_factory=dict)
    estimator: str = ""
    criterion: str = "target"
    n: int = 0

    @property
    def order(self) -> list[str]:
        return [self.prime, *self.detectors]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        parts = [f"{m} (I(X;Y)={self.mi_target.get(m, float('nan')):.3f})" for m in self.order]
        return f"ITHP order [{self.criterion}, {self.estimator}]: " + " -> ".join(parts)


def resolve_estimator(estimator: Any) -> Any:
    """An object with ``estimate(x, y)``: a registered estimator name, or such an object itself.

    Raises:
        MissingDependencyError: the estimator registry (``infofusion.measures.mi``) is absent.
        ConfigError: the name is not a registered estimator.
    """
    if hasattr(estimator, "estimate"):
        return estimator
    if not isinstance(estimator, str):
        raise ConfigError(
            f"ITHP option 'estimator' must be a name or an object with estimate(x, y), got {estimator!r}"
        )
    from infofusion.errors import UnknownComponentError
    from infofusion.registry import create

    try:
        return create("estimator", estimator)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(
            f"automatic ITHP order needs the MI estimators of infofusion.measures.mi ({exc}); "
            'fix the order instead, e.g. --set order=\'["text", "audio", "video"]\''
        ) from exc
    except UnknownComponentError as exc:
        raise ConfigError(
            f"ITHP option estimator='{estimator}' is not available for automatic order: {exc}"
        ) from exc


def pooled(dataset: Any, name: str, index: Any) -> np.ndarray:
    """``(N, D)`` float64 features of one modality (:meth:`MultimodalDataset.pooled`)."""
    import torch

    return dataset.pooled(name, index, dtype=torch.float64).numpy()


def reduce_dim(x: np.ndarray, max_dim: int) -> np.ndarray:
    """Standardise and keep the first ``max_dim`` principal components of ``x`` ``(N, D)``."""
    std = x.std(axis=0)
    keep = std > 1e-12  # constant features carry no information and make covariances singular
    if not keep.any():
        return np.zeros((x.shape[0], 1))
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / std[keep]
    if z.shape[1] <= max_dim:
        return z
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    return z @ vt[:max_dim].T


def target_array(dataset: Any, index: Any) -> np.ndarray:
    """Target as estimator input: one-hot without its last column, or the score ``(N, 1)``."""
    y = dataset.target[index].numpy()
    if dataset.task == "classification":
        classes = np.unique(y)
        onehot = (y[:, None] == classes[None, :]).astype(np.float64)
        return onehot[:, :-1] if onehot.shape[1] > 1 else onehot
    return y.astype(np.float64).reshape(-1, 1)


def choose_order(
    dataset: Any,
    *,
    candidates: Sequence[str] | None = None,
    prime: str | None = None,
    estimator: Any = "ksg",
    criterion: str = "target",
    split: str = "train",
    max_samples: int = 2000,
    max_dim: int = 8,
    seed: int = 0,
) -> OrderReport:
    """Rank modalities of ``dataset`` into a prime and an ordered list of detectors.

    Args:
        dataset: a :class:`~infofusion.data.MultimodalDataset`.
        candidates: modalities to order (default: all of the dataset's).
        prime: fix the prime and order only the detectors.
        estimator: registered estimator name (``"gaussian"``, ``"ksg"``...) or an object with
            ``estimate(x, y) -> Estimate``.
        criterion: ``"target"`` ranks detectors by I(X_d; Y), ``"prime"`` by I(X_prime; X_d).
        split: the split the estimates are computed on (training data only, by default).
        max_samples: random subsample size for the estimates.
        max_dim: principal components kept per modality.
        seed: subsampling seed.

    Returns:
        The :class:`OrderReport` with the order and every estimate used.
    """
    names = list(candidates) if candidates else list(dataset.names)
    if len(names) < 2:
        raise ConfigError(
            f"ITHP needs at least two modalities (a prime and a detector), got {names}"
        )
    if criterion not in CRITERIA:
        raise ConfigError(
            f"ITHP option order_criterion='{criterion}' is unknown (choose from {', '.join(CRITERIA)})"
        )
    if prime is not None and prime not in names:
        raise ConfigError(f"ITHP prime '{prime}' is not among the modalities {names}")
    est = resolve_estimator(estimator)
    index = dataset.indices(split).numpy()
    if len(index) > max_samples:
        index = np.sort(np.random.default_rng(seed).choice(index, size=max_samples, replace=False))
    feats = {m: reduce_dim(pooled(dataset, m, index), max_dim) for m in names}
    y = target_array(dataset, index)

    def mi(a: np.ndarray, b: np.ndarray) -> float:
        return float(est.estimate(a, b).value)

    mi_target = {m: mi(feats[m], y) for m in names}
    if prime is None:
        # ties broken by the given modality order (stable sort)
        prime = sorted(names, key=lambda m: -mi_target[m])[0]
    rest = [m for m in names if m != prime]
    mi_prime = {m: mi(feats[prime], feats[m]) for m in rest}
    score = mi_target if criterion == "target" else mi_prime
    detectors = sorted(rest, key=lambda m: -score[m])
    name = estimator if isinstance(estimator, str) else type(estimator).__name__
    return OrderReport(prime, detectors, mi_target, mi_prime, name, criterion, len(index))
