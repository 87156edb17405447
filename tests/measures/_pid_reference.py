"""Independent exponential-cone formulation of the BROJA problem (cvxpy + Clarabel), for tests."""

from __future__ import annotations

import numpy as np


def cvx_broja_value(p: np.ndarray, tol: float = 1e-10) -> float:
    """min over the fiber of -H_Q(Y|X1,X2) in nats, solved by Clarabel at tight tolerance."""
    import cvxpy as cp

    n1, n2, ny = p.shape
    p1 = p.sum(axis=1)
    p2 = p.sum(axis=0)
    q = cp.Variable((n1 * n2, ny), nonneg=True)  # row a * n2 + b
    a1 = np.kron(np.eye(n1), np.ones((1, n2)))
    a2 = np.kron(np.ones((1, n1)), np.eye(n2))
    q12 = cp.sum(q, axis=1, keepdims=True)
    obj = cp.sum(cp.rel_entr(q, q12 @ np.ones((1, ny))))
    prob = cp.Problem(cp.Minimize(obj), [a1 @ q == p1, a2 @ q == p2])
    prob.solve(solver="CLARABEL", tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol)
    return float(prob.value)
