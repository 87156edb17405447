"""BROJA PID (Bertschinger et al. 2014): unique information as a minimum over the fiber.

``U1 = min_Q I_Q(X1;Y|X2)`` over joints ``Q`` sharing the ``(X1, Y)`` and ``(X2, Y)`` marginals
of ``P``. Since ``I_Q(X1;Y|X2) = H(Y|X2) - H_Q(Y|X1,X2)`` and ``H(Y|X2)`` is fixed on the fiber,
one optimisation (:func:`solve_broja`) gives every atom.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infofusion.measures.pid.base import PIDMeasure
from infofusion.measures.pid.broja_solver import solve_broja
from infofusion.registry import register


@register("pid", "broja")
class BrojaPID(PIDMeasure):
    """BROJA decomposition with the exact interior-point solver and a certified gap."""

    name = "broja"

    def __init__(self, tol: float = 1e-9, check: bool = True, atol: float = 1e-6) -> None:
        super().__init__(check=check, atol=atol)
        self.tol = tol

    def parameters(self) -> dict[str, Any]:
        return {**super().parameters(), "tol": self.tol}

    def _atoms_nats(self, p: np.ndarray, mi: dict[str, float]):
        sol = solve_broja(p, tol=self.tol)
        # f* = -H_Q(Y|X1,X2) at the optimum; the returned q is feasible, so its value is an
        # upper bound and the atoms below are those of an actual member of the fiber.
        u1 = mi["H(Y|X2)"] + sol.value
        u2 = mi["H(Y|X1)"] + sol.value
        red = mi["I(X1;Y)"] - u1
        syn = mi["I(X1,X2;Y)"] - red - u1 - u2
        extra = {
            "status": sol.status,
            "newton_steps": sol.newton_steps,
            "feasibility": sol.feasibility,
            "solver_seconds": sol.seconds,
        }
        return {"R": red, "U1": u1, "U2": u2, "S": syn}, sol.gap, extra
