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
        EstimationError: ragged, not numeric, more than 2-d, empty, or containing NaN/inf.
    """
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise EstimationError(
            f"{name} is not a rectangular array (rows of different lengths?): {exc}"
        ) from None
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


def prescale(a: np.ndarray) -> np.ndarray:
    """Divide each column by a power of two near its largest magnitude.

    Exact in floating point (no rounding), so any later standardisation gives bit-identical
    results for ordinary data, while values near 1e300 (whose squares overflow) or 1e-300
    (whose squares underflow) no longer break means, variances and distances.
    """
    peak = np.abs(a).max(axis=0)
    exponent = np.frexp(np.where(peak > 0, peak, 1.0))[1]  # peak = m * 2**e, 0.5 <= m < 1
    return np.ldexp(a, -exponent[None, :]) if np.any(exponent) else a


def standardize(a: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column (constant columns are only centred); overflow-safe."""
    a = prescale(a)
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)


def constant_columns(a: np.ndarray) -> np.ndarray:
    """Indices of the columns of ``(N, D)`` whose values are all equal."""
    return np.flatnonzero((a == a[:1]).all(axis=0))


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
    #: the quantity estimated: ``mutual_information`` (Shannon MI), or another dependence
    #: measure that is *not* Shannon MI (``cs_qmi``, ``diffusion_mi``, ``wasserstein``).
    quantity: ClassVar[str] = "mutual_information"
    #: unit of the value: ``nats`` (convertible to bits) or ``distance`` (metric units).
    unit: ClassVar[str] = "nats"

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
        dropped = {}
        sides = {"x": xa, "y": ya} if za is None else {"x": xa, "y": ya, "z": za}
        for label, a in sides.items():
            const = constant_columns(a)
            if len(const):
                dropped[label] = const.tolist()
                sides[label] = np.delete(a, const, axis=1)
        if sides["x"].shape[1] == 0 or sides["y"].shape[1] == 0:
            # a constant carries no information: I(X; Y) = 0 exactly (also given any Z)
            which = "x" if sides["x"].shape[1] == 0 else "y"
            est = Estimate(value=0.0, stderr=0.0, ci=(0.0, 0.0), extra={"constant_side": which})
        else:
            zs = sides.get("z")
            if zs is not None and zs.shape[1] == 0:  # I(X; Y | constant) = I(X; Y)
                zs = None
            est = self._estimate(sides["x"], sides["y"], zs)
        if not math.isfinite(est.value):
            raise EstimationError(
                f"estimator '{self.name}' produced a non-finite value ({est.value}) on "
                f"{n} samples of {xa.shape[1]} x {ya.shape[1]} columns"
            )
        est.seconds = time.perf_counter() - t0
        est.estimator = self.name
        est.unit = self.unit
        est.params = dataclasses.asdict(self._params)
        if not est.n:
            est.n = n
        if est.ci is None and est.stderr is not None and math.isfinite(est.stderr):
            est.ci = (est.value - _Z95 * est.stderr, est.value + _Z95 * est.stderr)
        est.extra.setdefault("kind", self.kind)
        if self.quantity != "mutual_information":
            est.extra.setdefault("quantity", self.quantity)
        if dropped:
            est.extra["constant_columns"] = dropped
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


class TorchThreads:
    """Context manager setting torch's intra-op thread count (0 = leave it unchanged).

    One thread is the fastest for the small networks and blocked searches here, and far faster
    than torch's default on a loaded machine.
    """

    def __init__(self, n: int) -> None:
        self.n, self.old = n, 0

    def __enter__(self) -> None:
        if self.n:
            import torch

            self.old = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        if self.n:
            import torch

            torch.set_num_threads(self.old)


def mean_with_stderr(terms: np.ndarray) -> tuple[float, float]:
    """Mean of per-sample terms and the standard error of that mean."""
    n = terms.shape[0]
    return float(terms.mean()), float(terms.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
