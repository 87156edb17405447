"""Dataset-level PID estimators (registry kind ``"pid_estimator"``): one contract for every path
from a multimodal dataset to atoms with uncertainty.

A discrete measure (kind ``"pid"``: ``broja``, ``imin``, ``mmi``) decomposes a joint
distribution, ``decompose(p) -> PIDResult``. An estimator turns a
:class:`~infofusion.data.MultimodalDataset` into a :class:`~.estimate.PIDEstimate`:

* ``plugin``: discretise each modality (k-means on standardised features, or on cross-fitted
  class probabilities with ``representation="model"``; a modality with few distinct values is
  used as it is) and run :func:`~.estimate.estimate_pid` (bias-corrected atoms, intervals,
  null level) on the labels.
* ``batch``: the batch neural estimator (:mod:`.neural`), trained classifiers plus the exact
  solver on held-out batches.

Every estimator is built as ``cls(**options)`` (an unknown option is a ``ConfigError`` naming
it), reports ``parameters()`` and implements ``estimate(dataset, modalities=None)``.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from infofusion.errors import ConfigError
from infofusion.measures.pid.estimate import PIDEstimate
from infofusion.registry import get, list_components, register


class PIDEstimator:
    """Base class of dataset-level PID estimators.

    Subclasses set ``name`` and implement :meth:`estimate`; their constructor arguments are
    their options, and :meth:`parameters` reads them back from the signature.
    """

    name: ClassVar[str] = "base"

    def parameters(self) -> dict[str, Any]:
        """The options this estimator was built with (read from its signature)."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self" and hasattr(self, p)}

    def estimate(self, dataset: Any, modalities: tuple[str, str] | None = None) -> PIDEstimate:
        raise NotImplementedError

    @staticmethod
    def pair(dataset: Any, modalities: Any) -> tuple[str, str]:
        """The two modalities to decompose (default: the first two), validated."""
        names = tuple(modalities) if modalities is not None else tuple(dataset.names[:2])
        if len(dataset.names) < 2:
            raise ConfigError(f"a PID needs two modalities, the dataset has {list(dataset.names)}")
        if len(names) != 2 or names[0] == names[1]:
            raise ConfigError(f"modalities must name two different modalities, got {list(names)}")
        for m in names:
            if m not in dataset.names:
                raise ConfigError(f"unknown modality {m!r} (available: {', '.join(dataset.names)})")
        return names  # type: ignore[return-value]


def create_estimator(name: str, **options: Any) -> PIDEstimator:
    """Build the registered dataset-level estimator ``name`` with ``options``.

    Raises:
        UnknownComponentError: no such estimator (with suggestions; a discrete measure name
            gets a hint).
        ConfigError: an option the estimator does not take, or an invalid value.
    """
    if name in ("broja", "imin", "mmi"):
        raise ConfigError(
            f"{name!r} is a discrete PID measure, not a dataset-level estimator: use "
            f"estimator='plugin' with measure={name!r} (estimators: {', '.join(list_components('pid_estimator'))})"
        )
    cls = get("pid_estimator", name)
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown option(s) for PID estimator {name!r}: {', '.join(unknown)} "
            f"(available: {', '.join(allowed)})"
        )
    return cls(**options)


def _int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


@register("pid_estimator", "plugin")
class PluginPID(PIDEstimator):
    """Discretise each modality, then bias-corrected plug-in PID with intervals.

    Args:
        k: k-means clusters per modality (>= 2).
        representation: cluster ``"features"`` or cross-fitted ``"model"`` probabilities.
        measure: discrete PID measure (``broja``, ``imin``, ``mmi``).
        n_boot, n_perm: bootstrap resamples and label permutations.
        correction: bias correction (see :data:`~.estimate.CORRECTIONS`; ``"auto"``: default).
        exact_max: modalities with at most this many distinct rows are used as they are.
        split: rows of the estimate (default: all; clusters are fitted on ``train``).
        target_bins: quantile bins for a regression target.
        seed: seed of clustering, folds, resamples and permutations.
    """

    name = "plugin"

    def __init__(
        self,
        k: int = 10,
        representation: str = "features",
        measure: str = "broja",
        n_boot: int = 100,
        n_perm: int = 20,
        correction: str = "auto",
        exact_max: int = 64,
        split: str | None = None,
        target_bins: int = 5,
        seed: int = 0,
    ) -> None:
        from infofusion.measures.pid.estimate import CORRECTIONS

        self.k = _int(k, "k", 2)
        if representation not in ("features", "model"):
            raise ConfigError(f"representation must be 'features' or 'model', got {representation!r}")
        self.representation = representation
        if measure not in list_components("pid"):
            get("pid", measure)  # raises UnknownComponentError with suggestions
        self.measure = measure
        self.n_boot = _int(n_boot, "n_boot", 0)
        self.n_perm = _int(n_perm, "n_perm", 0)
        if correction != "auto" and correction not in CORRECTIONS:
            raise ConfigError(f"correction must be 'auto' or one of {', '.join(CORRECTIONS)}, got {correction!r}")
        self.correction = correction
        self.exact_max = _int(exact_max, "exact_max", 0)
        self.split = split
        self.target_bins = _int(target_bins, "target_bins", 2)
        self.seed = _int(seed, "seed", 0)

    def discretize_all(self, dataset: Any, names: tuple[str, ...]) -> tuple[dict, np.ndarray, dict]:
        """Labels of every named modality and of the target: ``(discretizations, y, target_info)``."""
        from infofusion.measures.pid.discretize import discretize, discretize_target

        y, target_info = discretize_target(dataset.target.numpy(), bins=self.target_bins)
        fit = dataset.indices("train").numpy()
        disc = {}
        for m in names:
            ln = dataset.lengths(m)
            disc[m] = discretize(
                dataset.modality(m).numpy(), k=self.k, lengths=None if ln is None else ln.numpy(),
                fit_index=fit, representation=self.representation, y=y, seed=self.seed,
                exact_max=self.exact_max,
            )
        return disc, y, target_info

    def rows(self, dataset: Any) -> np.ndarray:
        return np.arange(dataset.n) if self.split is None else dataset.indices(self.split).numpy()

    def estimate(self, dataset: Any, modalities: tuple[str, str] | None = None) -> PIDEstimate:
        """Atoms (bits) of the two modalities; ``extra["discretization"]`` records the choices."""
        from infofusion.measures.pid.estimate import estimate_pid

        names = self.pair(dataset, modalities)
        disc, y, target_info = self.discretize_all(dataset, names)
        rows = self.rows(dataset)
        est = estimate_pid(
            disc[names[0]].labels[rows], disc[names[1]].labels[rows], y[rows], measure=self.measure,
            n_boot=self.n_boot, n_perm=self.n_perm, seed=self.seed, correction=self.correction,
        )
        est.extra.update(
            estimator=self.name, modalities=list(names), target=target_info,
            discretization={m: d.record() for m, d in disc.items()}, params=self.parameters(),
        )
        return est
