"""BROJA PID (Bertschinger et al. 2014): unique information as a minimum over the fiber.

``U1 = min_Q I_Q(X1;Y|X2)`` over joints ``Q`` sharing the ``(X1, Y)`` and ``(X2, Y)`` marginals
of ``P``. Since ``I_Q(X1;Y|X2) = H(Y|X2) - H_Q(Y|X1,X2)`` and ``H(Y|X2)`` is fixed on the fiber,
one optimisation (:func:`~infofusion.measures.pid.solver.solve_broja`) gives every atom.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infofusion.errors import ConfigError
from infofusion.measures.pid.base import PIDMeasure
from infofusion.measures.pid.solver import solve_broja
from infofusion.registry import register


def atoms_from_value(value: float, mi: dict[str, float]) -> dict[str, float]:
    """The four atoms (nats) from the optimum ``v = min_Q -H_Q(Y|X1,X2)``.

    ``U1 = H(Y|X2) + v``, ``U2 = H(Y|X1) + v``, ``R = I(X1;Y) - U1``,
    ``S = I(X1,X2;Y) - R - U1 - U2``.
    """
    u1 = mi["H(Y|X2)"] + value
    u2 = mi["H(Y|X1)"] + value
    red = mi["I(X1;Y)"] - u1
    return {"R": red, "U1": u1, "U2": u2, "S": mi["I(X1,X2;Y)"] - red - u1 - u2}


def choose_value(lower: float, upper: float, value: float, mi: dict[str, float]) -> float:
    """A point of the certified interval ``[lower, upper]`` at which every atom is >= 0.

    Every atom is affine in the optimum ``v``: ``U1, U2 >= 0`` iff
    ``v >= -min(H(Y|X1), H(Y|X2))`` and ``R, S >= 0`` iff
    ``v <= min(H(Y) - H(Y|X1) - H(Y|X2), -H(Y|X1,X2))``. The true optimum lies in both
    intervals, so ``value`` (the solver's feasible point) is moved to the nearest point of
    their intersection: within the certified gap of the truth, consistent and non-negative.
    """
    lo_nn = -min(mi["H(Y|X1)"], mi["H(Y|X2)"])
    hi_nn = min(mi["H(Y)"] - mi["H(Y|X1)"] - mi["H(Y|X2)"], -mi["H(Y|X1,X2)"])
    lo, hi = max(lower, lo_nn), min(upper, hi_nn)
    if lo > hi:  # only rounding can make the intervals miss each other
        return 0.5 * (lo + hi)
    return float(np.clip(value, lo, hi))


@register("pid", "broja")
class BrojaPID(PIDMeasure):
    """BROJA decomposition with the exact interior-point solver and a certified gap.

    Args:
        tol: target certified gap of the optimisation, in nats.
        check: check the atoms (non-negative within ``atol``, consistent) before returning.
        atol: tolerance of the check, in bits.
        max_iter: iteration cap of each solver variant.
        progress: passed to :func:`~infofusion.measures.pid.solver.solve_broja` (``None``:
            report long solves to stderr; ``False``: silent).
    """

    name = "broja"

    def __init__(
        self,
        tol: float = 1e-9,
        check: bool = True,
        atol: float = 1e-6,
        max_iter: int = 300,
        progress: Any = None,
    ) -> None:
        super().__init__(check=check, atol=atol)
        if isinstance(tol, bool) or not (isinstance(tol, int | float) and np.isfinite(tol) and tol > 0):
            raise ConfigError(f"broja: tol must be a positive number of nats, got {tol!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ConfigError(f"broja: max_iter must be an integer >= 1, got {max_iter!r}")
        self.tol = float(tol)
        self.max_iter = max_iter
        self.progress = progress

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "tol": self.tol, "max_iter": self.max_iter}

    def _atoms_nats(self, p: np.ndarray, mi: dict[str, float]):
        sol = solve_broja(p, tol=self.tol, max_iter=self.max_iter, progress=self.progress)
        upper = sol.dual_value + sol.gap  # the certified upper end (value + feasibility term)
        value = choose_value(sol.dual_value, upper, sol.value, mi)
        extra = {
            "status": sol.status,
            "method": sol.method,
            "newton_steps": sol.newton_steps,
            "feasibility": sol.feasibility,
            "solver_seconds": sol.seconds,
            "variants": sol.extra.get("variants", {}),
        }
        return atoms_from_value(value, mi), sol.gap, extra
