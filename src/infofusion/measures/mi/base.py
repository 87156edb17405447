"""Shared machinery of the MI estimators: input checks, typed parameters, timing, uncertainty.

Every estimator subclasses :class:`MIEstimatorBase`, declares a frozen dataclass of parameters
(validated on construction, saved with every result) and implements ``_estimate``, which returns
an :class:`~infofusion.interfaces.Estimate` with the value and its standard error; this base
class fills in the name, the parameters, the sample count, the wall time and a normal-theory
confidence interval when the estimator gave only a standard error.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import numpy as np

from infofusion.errors import ConfigError, EstimationError
from infofusion.interfaces import Estimate

#: ``progress(done, total, message)``: called by long estimations (neural training loops).
ProgressFn = Callable[[int, int, str], None]

BoundKind = Literal["estimate", "lower_bound", "upper_bound"]

_Z95 = 1.959963984540054


def check(condition: bool, param: str, value: Any, requirement: str) -> None:
    """Raise :class:`ConfigError` naming the parameter when ``condition`` is false."""
    if not condition:
        raise ConfigError(f"parameter '{param}' must be {requirement}, got {value!r}")


def as_samples(a: Any, name: str) -> np.ndarray:
    """``(N,)`` or ``(N, D)`` array-like (numpy, torch, list) -> float64 ``(N, D)``.

    Raises:
        EstimationError: not numeric, more than 2-d, empty, or containing NaN/inf.
    """
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise EstimationError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise EstimationError(f"{name} must be (N,) or (N, D), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise EstimationError(f"{name} is empty (shape {arr.shape})")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        rows = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise EstimationError(
            f"{name} has non-finite values in {len(rows)} samples (first at index {rows[0]})"
        )
    return arr


def standardize(a: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column (constant columns are only centred)."""
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)


class MIEstimatorBase:
    """Base of every registered MI estimator (implements :class:`~infofusion.interfaces.MIEstimator`).

    Class attributes carry metadata that callers (the ``auto`` estimator, the CLI, tests) read
    without running anything.

    Args:
        progress: optional ``progress(done, total, message)`` callback for long estimations.
        **params: fields of the estimator's ``Params`` dataclass.

    Raises:
        ConfigError: an unknown parameter or an invalid value (the message names it).
    """

    name: ClassVar[str] = "base"
    Params: ClassVar[type] = type(None)
    #: what the value is: a consistent estimate, or a lower / upper bound on I(X; Y).
    kind: ClassVar[BoundKind] = "estimate"
    #: whether ``estimate(x, y, z=...)`` (conditional MI) is supported.
    supports_conditional: ClassVar[bool] = False
    #: the data the estimator is meant for: ``continuous``, ``discrete`` or ``mixed``.
    data_type: ClassVar[str] = "continuous"
    #: fewest samples accepted.
    min_samples: ClassVar[int] = 4

    def __init__(self, progress: ProgressFn | None = None, **params: Any) -> None:
        names = {f.name for f in dataclasses.fields(self.Params)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ConfigError(
                f"estimator '{self.name}' got unknown parameter(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(names))})"
            )
        self._params = self.Params(**params)
        self.progress = progress

    def parameters(self) -> Any:
        """The typed, validated parameters (a frozen dataclass)."""
        return self._params

    def estimate(self, x: Any, y: Any, z: Any = None) -> Estimate:
        """Estimate I(X; Y) (or I(X; Y | Z) where supported) in nats.

        Args:
            x: ``(N, Dx)`` samples (``(N,)`` is read as one column).
            y: ``(N, Dy)`` samples paired with ``x``.
            z: optional ``(N, Dz)`` conditioning samples.

        Returns:
            The estimate with standard error, confidence interval and the parameters used.
        """
        xa, ya = as_samples(x, "x"), as_samples(y, "y")
        za = None if z is None else as_samples(z, "z")
        if za is not None and not self.supports_conditional:
            raise EstimationError(
                f"estimator '{self.name}' does not estimate conditional MI; "
                "use 'ksg', 'gaussian', 'plugin' or 'auto'"
            )
        n = xa.shape[0]
        for other, label in ((ya, "y"), (za, "z")):
            if other is not None and other.shape[0] != n:
                raise EstimationError(f"x has {n} samples but {label} has {other.shape[0]}")
        if n < self.min_samples:
            raise EstimationError(
                f"estimator '{self.name}' needs at least {self.min_samples} samples, got {n}"
            )
        t0 = time.perf_counter()
        est = self._estimate(xa, ya, za)
        est.seconds = time.perf_counter() - t0
        est.estimator = self.name
        est.params = dataclasses.asdict(self._params)
        if not est.n:
            est.n = n
        if est.ci is None and est.stderr is not None and math.isfinite(est.stderr):
            est.ci = (est.value - _Z95 * est.stderr, est.value + _Z95 * est.stderr)
        est.extra.setdefault("kind", self.kind)
        if za is not None:
            est.extra.setdefault("conditional", True)
        return est

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        raise NotImplementedError  # pragma: no cover

    def _report(self, done: int, total: int, message: str) -> None:
        if self.progress is not None:
            self.progress(done, total, message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._params})"


def mean_with_stderr(terms: np.ndarray) -> tuple[float, float]:
    """Mean of per-sample terms and the standard error of that mean."""
    n = terms.shape[0]
    return float(terms.mean()), float(terms.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
