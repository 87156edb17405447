"""An independent BROJA solution (cvxpy + Clarabel) and a check of ours against references.

Used to validate :func:`~infofusion.measures.pid.solver.solve_broja` (tests, the sweep and
speed scripts), never by the measures themselves. The exponential-cone formulation

.. math::

    \\min_Q \\sum_{c, y} Q_{cy} \\log \\frac{Q_{cy}}{\\sum_{y'} Q_{cy'}} \\quad
    \\text{s.t. the two marginal constraints, } Q \\ge 0

is written with cvxpy's ``rel_entr`` and solved by Clarabel; an answer counts only when
Clarabel reports ``optimal`` (not ``optimal_inaccurate``). cvxpy and Clarabel are in the
``test`` extra.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infofusion.errors import MissingDependencyError
from infofusion.measures.pid._info import LN2, mutual_informations
from infofusion.measures.pid.base import ATOMS


@dataclass
class ReferenceSolution:
    """Clarabel's answer: objective (nats), status, whether it certifies, wall time (s)."""

    value: float
    status: str
    certified: bool
    seconds: float


def cvx_broja(p: np.ndarray, tol: float | None = 1e-10, time_limit: float | None = None) -> ReferenceSolution:
    """``min_Q -H_Q(Y|X1,X2)`` over the fiber of ``p`` (nats) with cvxpy + Clarabel.

    Args:
        p: ``(n1, n2, ny)`` joint distribution.
        tol: Clarabel's gap and feasibility tolerances (``None``: its defaults).
        time_limit: seconds before Clarabel gives up (``None``: no limit).

    Raises:
        MissingDependencyError: cvxpy or clarabel is not installed.
    """
    try:
        import clarabel  # noqa: F401
        import cvxpy as cp
    except ImportError as exc:
        raise MissingDependencyError(
            f"the reference solver needs cvxpy and clarabel ({exc}); "
            "install them with: pip install 'infofusion[test]'"
        ) from None
    n1, n2, ny = p.shape
    q = cp.Variable((n1 * n2, ny), nonneg=True)  # row a * n2 + b
    a1 = np.kron(np.eye(n1), np.ones((1, n2)))
    a2 = np.kron(np.ones((1, n1)), np.eye(n2))
    q12 = cp.sum(q, axis=1, keepdims=True)
    obj = cp.sum(cp.rel_entr(q, q12 @ np.ones((1, ny))))
    prob = cp.Problem(cp.Minimize(obj), [a1 @ q == p.sum(axis=1), a2 @ q == p.sum(axis=0)])
    opts: dict[str, Any] = {}
    if tol is not None:
        opts.update(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            prob.solve(solver="CLARABEL", **opts)
        except cp.error.SolverError as exc:
            return ReferenceSolution(np.nan, f"error: {exc}", False, time.perf_counter() - start)
    value = float(prob.value) if prob.value is not None else np.nan
    return ReferenceSolution(value, str(prob.status), prob.status == "optimal", time.perf_counter() - start)


def atoms_from_value_bits(p: np.ndarray, value: float) -> dict[str, float]:
    """The four BROJA atoms (bits) of ``p`` given the optimum value (nats)."""
    from infofusion.measures.pid.broja import atoms_from_value

    return {k: v / LN2 for k, v in atoms_from_value(value, mutual_informations(p)).items()}


@dataclass
class CaseCheck:
    """One sweep case checked against its reference.

    Attributes:
        family, shape: the case.
        reference: ``"closed_form"``, ``"clarabel"`` or ``"none"`` (Clarabel did not certify:
            only our own certificate speaks for the answer).
        error: largest |atom - reference atom| in bits (NaN without a reference).
        min_atom: smallest atom we returned (bits).
        gap: our certified gap (bits); status: ours.
        seconds: our solve time; ref_seconds: Clarabel's (0 for a closed form).
    """

    family: str
    shape: tuple[int, int, int]
    reference: str
    error: float
    min_atom: float
    gap: float
    status: str
    seconds: float
    ref_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def check_case(case: Any, clarabel: bool = True, time_limit: float = 120.0) -> CaseCheck:
    """Decompose ``case.p`` with :class:`BrojaPID` and compare with the case's closed form or,
    failing that, with Clarabel at its default tolerances (1e-8), capped at ``time_limit``
    seconds; ``reference="none"`` when Clarabel does not certify."""
    from infofusion.measures.pid.broja import BrojaPID

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the status says it; the check reports it
        res = BrojaPID(check=False, progress=False).decompose(case.p)
    ours = res.atoms()
    ref: dict[str, float] | None = None
    kind, ref_t = "none", 0.0
    extra: dict[str, Any] = {}
    if case.atoms is not None:
        ref, kind = dict(case.atoms), "closed_form"
    elif clarabel:
        sol = cvx_broja(case.p, tol=None, time_limit=time_limit)
        ref_t += sol.seconds
        extra["clarabel"] = sol.status
        if sol.certified:
            ref, kind = atoms_from_value_bits(case.p, sol.value), "clarabel"
    err = float(max(abs(ours[k] - ref[k]) for k in ATOMS)) if ref is not None else float("nan")
    return CaseCheck(
        family=case.family, shape=tuple(case.p.shape), reference=kind, error=err,
        min_atom=float(min(ours.values())), gap=res.gap, status=res.status,
        seconds=res.seconds, ref_seconds=ref_t, extra=extra,
    )
