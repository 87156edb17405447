"""PID base class: owns the four atoms of a two-source decomposition and their checks.

A measure implements one method, :meth:`PIDMeasure._redundancy` (or overrides
:meth:`PIDMeasure._atoms_nats`); the base class turns a redundancy into the four atoms through
the consistency equations

.. math::

    U_1 = I(X_1;Y) - R, \\quad U_2 = I(X_2;Y) - R, \\quad S = I(X_1,X_2;Y) - R - U_1 - U_2,

and checks the result: atoms non-negative within tolerance, ``R + U1 + U2 + S = I(X1,X2;Y)``,
``U1 + R = I(X1;Y)`` and ``U2 + R = I(X2;Y)``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from infofusion.errors import ConfigError, EstimationError
from infofusion.measures.pid._info import LN2, check_joint, mutual_informations

ATOMS = ("R", "U1", "U2", "S")


@dataclass
class PIDResult:
    """The atoms of one decomposition, in bits.

    Attributes:
        R, U1, U2, S: redundancy, unique information of X1 and X2, synergy (bits).
        I1, I2, I12: I(X1;Y), I(X2;Y), I(X1,X2;Y) (bits).
        measure: registry name of the measure.
        gap: certified optimality gap of the underlying optimisation, in bits (0 when closed form):
            every atom is within ``gap`` of the exact decomposition.
        seconds: wall time.
        status: ``"exact"`` (closed form), ``"optimal"`` (optimisation certified within its
            tolerance) or ``"inaccurate"`` (certified only within the larger ``gap``; a
            :class:`~infofusion.errors.SolverAccuracyWarning` was issued).
        extra: measure-specific details (solver variants, Newton steps, feasibility).
    """

    R: float
    U1: float
    U2: float
    S: float
    I1: float
    I2: float
    I12: float
    measure: str = ""
    gap: float = 0.0
    seconds: float = 0.0
    status: str = "exact"
    extra: dict[str, Any] = field(default_factory=dict)

    def atoms(self) -> dict[str, float]:
        """``{"R": ..., "U1": ..., "U2": ..., "S": ...}`` in bits."""
        return {k: float(getattr(self, k)) for k in ATOMS}

    def as_array(self) -> np.ndarray:
        """``(4,)`` array ``[R, U1, U2, S]`` in bits."""
        return np.array([self.R, self.U1, self.U2, self.S])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check(self, atol: float = 1e-6) -> None:
        """Raise :class:`EstimationError` if an atom is negative or a consistency equation fails.

        Args:
            atol: tolerance in bits. The certified ``gap`` is *not* added: a measure must
                return non-negative atoms (BROJA picks them inside its certified interval).
        """
        tol = atol
        for k in ATOMS:
            v = getattr(self, k)
            if not np.isfinite(v) or v < -tol:
                raise EstimationError(
                    f"PID atom {k} = {v:.3g} bits is negative ({self.measure}, status "
                    f"{self.status}, certified gap {self.gap:.3g} bits)"
                )
        eqs = {
            "R+U1+U2+S = I(X1,X2;Y)": self.R + self.U1 + self.U2 + self.S - self.I12,
            "U1+R = I(X1;Y)": self.U1 + self.R - self.I1,
            "U2+R = I(X2;Y)": self.U2 + self.R - self.I2,
        }
        for name, err in eqs.items():
            if abs(err) > tol:
                raise EstimationError(f"PID consistency {name} fails by {err:.3g} bits")


class PIDMeasure:
    """Base class of two-source PID measures on discrete joint distributions.

    Subclasses set ``name`` and implement :meth:`_redundancy` (nats) or :meth:`_atoms_nats`.
    Class attributes carry metadata: ``nonnegative`` says whether the measure guarantees
    non-negative atoms for every distribution (I_min and MMI do; BROJA does).

    Example:
        >>> from infofusion.measures.pid import BrojaPID, canonical
        >>> BrojaPID().decompose(canonical.xor()).S  # doctest: +ELLIPSIS
        1.0...
    """

    name: ClassVar[str] = "base"
    nonnegative: ClassVar[bool] = True

    def __init__(self, check: bool = True, atol: float = 1e-6) -> None:
        if not isinstance(check, bool):
            raise ConfigError(f"{self.name}: check must be True or False, got {check!r}")
        if isinstance(atol, bool) or not (isinstance(atol, int | float) and np.isfinite(atol) and atol >= 0):
            raise ConfigError(f"{self.name}: atol must be a number >= 0 (bits), got {atol!r}")
        self.check = check
        self.atol = float(atol)

    def parameters(self) -> dict[str, Any]:
        """The measure's parameters, saved with every result."""
        return {"check": self.check, "atol": self.atol}

    def decompose(self, p: np.ndarray) -> PIDResult:
        """Decompose the joint distribution ``p`` of shape ``(n1, n2, ny)``.

        Returns:
            :class:`PIDResult` in bits (checked when ``check=True``).

        Raises:
            EstimationError: ``p`` is not a valid joint distribution (wrong shape, NaN/inf,
                negative, all zero, not summing to one), or the check fails.
        """
        start = time.perf_counter()
        joint = check_joint(p)
        mi = mutual_informations(joint)
        atoms, gap, extra = self._atoms_nats(joint, mi)
        status = str(extra.get("status", "exact"))
        res = PIDResult(
            R=atoms["R"] / LN2,
            U1=atoms["U1"] / LN2,
            U2=atoms["U2"] / LN2,
            S=atoms["S"] / LN2,
            I1=mi["I(X1;Y)"] / LN2,
            I2=mi["I(X2;Y)"] / LN2,
            I12=mi["I(X1,X2;Y)"] / LN2,
            measure=self.name,
            gap=gap / LN2,
            seconds=time.perf_counter() - start,
            status=status,
            extra=extra,
        )
        if self.check:
            res.check(self.atol)
        return res

    __call__ = decompose

    def _atoms_nats(
        self, p: np.ndarray, mi: dict[str, float]
    ) -> tuple[dict[str, float], float, dict[str, Any]]:
        red, gap, extra = self._redundancy(p, mi)
        return atoms_from_redundancy(red, mi), gap, extra

    def _redundancy(self, p: np.ndarray, mi: dict[str, float]) -> tuple[float, float, dict]:
        raise NotImplementedError


def atoms_from_redundancy(red: float, mi: dict[str, float]) -> dict[str, float]:
    """The four atoms (nats) from a redundancy value and the mutual informations."""
    u1 = mi["I(X1;Y)"] - red
    u2 = mi["I(X2;Y)"] - red
    s = mi["I(X1,X2;Y)"] - red - u1 - u2
    return {"R": red, "U1": u1, "U2": u2, "S": s}
