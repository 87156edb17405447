"""Primal-dual interior-point method on the BROJA dual for small alphabets (dense maps).

Unknowns: the multipliers ``y`` of the ``k`` independent marginal rows, one slack
``s_c = -L_c(y) > 0`` and one mass ``q_c > 0`` per live cell; the primal point is
``q_cy = q_c softmax_c(A^T y)_y``. Mehrotra's predictor-corrector method solves
``A q = b``, ``L_c(y) + s_c = 0`` and ``q_c s_c = sigma mu``; each step solves one ``k x k``
positive definite system ``sum_c A_c (diag(u_c) + kap_c u_c u_c^T) A_c^T`` with
``u_c = q_c pi_c`` and ``kap_c = (1 / s_c - 1) / q_c``.

At these sizes the cost is the number of numpy calls, not arithmetic: the marginal maps are
dense products with the constraint matrix (cached per support pattern), the system is
accumulated from the cell blocks by one ``bincount``, and the factorisation and solves are raw
LAPACK calls. Near a degenerate optimum (e.g. ``X1 == X2``, where whole cells vanish and the
system becomes singular in the limit) the factorisation is retried with a growing diagonal
shift, and the direction is refined against the unshifted system.
"""

from __future__ import annotations

import functools

import numpy as np

from infofusion.measures.pid.solver.certificate import Certifier, Fiber
from infofusion.measures.pid.solver.linalg import Factor
from infofusion.measures.pid.solver.pd_blocks import start_slacks

ETA = 0.995  # fraction to the boundary
CERT = 0.5  # certify once nc * mu <= CERT * tol
MAX_HALVINGS = 30
RESID_FLOOR = 1e-10  # residuals below this never force a shorter step
GROWTH = 2.0  # a step may at most double the residuals
# Work (k^2 times cells) below which the dense variant is used.
DENSE_WORK = 2.5e6


def constraint_matrix(n1: int, n2: int, ny: int, act: np.ndarray) -> np.ndarray:
    """Rows ``(x1, y)`` then ``(x2, y)`` of the marginal map, restricted to ``act``: (k, n1*n2*ny)."""
    x1, x2, yy = np.indices((n1, n2, ny)).reshape(3, -1)
    col = np.arange(n1 * n2 * ny)
    a = np.zeros(((n1 + n2) * ny, n1 * n2 * ny))
    a[x1 * ny + yy, col] = 1.0
    a[(n1 + x2) * ny + yy, col] = 1.0
    return np.ascontiguousarray(a[act])


@functools.lru_cache(maxsize=16)
def _maps(
    n1: int, n2: int, ny: int, act_bytes: bytes, cm_bytes: bytes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constraint matrix over the live cells, its transpose, and the block scatter map.

    The scatter map sends entry ``(y, y')`` of live cell ``c = (x1, x2)``'s ``ny x ny`` block
    to the flat ``k x k`` positions coupling rows ``(x1, y)``/``(x2, y)`` with
    ``(x1, y')``/``(x2, y')``; pairs touching an inactive row go to a dummy bin ``k * k``.
    Cached (read-only): bootstrap and permutation loops repeat the same support pattern.
    """
    act = np.frombuffer(act_bytes, dtype=bool)
    cm = np.frombuffer(cm_bytes, dtype=bool)
    amat = np.ascontiguousarray(constraint_matrix(n1, n2, ny, act)[:, np.repeat(cm, ny)])
    amat_t = np.ascontiguousarray(amat.T)
    k = amat.shape[0]
    pos = np.where(act, np.cumsum(act) - 1, k)
    cells = np.flatnonzero(cm)
    r1 = pos[(cells // n2)[:, None] * ny + np.arange(ny)]  # (nc, ny)
    r2 = pos[(n1 + cells % n2)[:, None] * ny + np.arange(ny)]

    def pairs(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
        both = (ra[:, :, None] < k) & (rb[:, None, :] < k)
        return np.where(both, ra[:, :, None] * k + rb[:, None, :], k * k)

    # (nc, ny, ny, 4): the four copies of each block entry are adjacent, so the weights are
    # one np.repeat of the blocks
    scatter = np.stack([pairs(r1, r1), pairs(r2, r2), pairs(r1, r2), pairs(r2, r1)], axis=-1).ravel()
    for arr in (amat, amat_t, scatter):
        arr.flags.writeable = False
    return amat, amat_t, scatter


def solve(
    fiber: Fiber, cert: Certifier, max_iter: int, progress=None, start: str = "centred"
) -> tuple[int, str]:
    """Run the method, offering iterates to ``cert``; returns (Newton steps, how it ended).

    ``start``: ``"centred"`` (fast on most inputs) or ``"feasible"`` (slower, more robust on
    degenerate and badly scaled ones); see :func:`~.pd_blocks.start_slacks`.
    """
    n1, n2, ny = fiber.shape
    p1, p2, py, mask = fiber.p1, fiber.p2, fiber.py, fiber.mask
    cm = fiber.cells.ravel()
    maskc = mask.reshape(n1 * n2, ny)[cm]
    full = bool(maskc.all())
    nc = int(cm.sum())
    neg = np.where(maskc, 0.0, -np.inf)
    act1, act2, first = fiber.act1, fiber.act2, fiber.first
    act = np.concatenate([act1.ravel(), act2.ravel()])
    amat, amat_t, scatter = _maps(n1, n2, ny, act.tobytes(), cm.tobytes())
    k = amat.shape[0]
    b = np.concatenate([p1.ravel(), p2.ravel()])[act]
    diag_y = np.arange(ny)
    tol = cert.tol
    with np.errstate(divide="ignore"):
        l1 = np.where(act1, np.log(p1) - np.log(py)[None, :], 0.0)
        l2 = np.where(p2 > 0, np.log(p2), 0.0)
    ref = l2[first, np.arange(ny)]
    # softmax(lam + mu) reproduces the product distribution: A q = b at the start
    y = np.concatenate([(l1 + ref[None, :]).ravel(), (l2 - ref[None, :]).ravel()])[act]
    yfull = np.zeros((n1 + n2) * ny)

    def softmax(yy: np.ndarray):
        z = (amat_t @ yy).reshape(nc, ny)
        if not full:
            z = z + neg
        zm = z.max(axis=1)
        e = np.exp(z - zm[:, None])
        se = e.sum(axis=1)
        return e / se[:, None], zm + np.log(se)

    pi, lse = softmax(y)[:2]
    qc = fiber.product().reshape(n1 * n2, ny)[cm].sum(axis=1)
    s = start_slacks(qc, lse, np.ones(nc, dtype=bool), start)

    def step(x: np.ndarray, dx: np.ndarray) -> float:
        r = float((dx / x).min())
        return np.inf if r >= 0.0 else -1.0 / r

    def direction(rc, rl, rb, fac):
        w = (rc + qc * rl) / s
        dy = fac.solve(rb - amat @ (pi * w[:, None]).ravel())
        if dy is None:
            return None
        ds = -rl - ((amat_t @ dy).reshape(nc, ny) * pi).sum(axis=1)  # grad L_c . dy
        return dy, ds, (rc - qc * ds) / s

    def project(qcells: np.ndarray) -> np.ndarray:
        # Weighted least-squares correction onto A q = b (min sum dq^2 / q): one k x k solve
        # that removes most of the residual before the general restoring step.
        qf = qcells.ravel()
        fac = Factor((amat * qf) @ amat_t)
        w = fac.solve(b - amat @ qf) if fac.ok else None
        if w is None:
            return qcells
        qn = qf * (1.0 + amat_t @ w)
        return qn.reshape(qcells.shape) if (qn >= 0).all() else qcells

    def offer() -> None:
        qfull = np.zeros((n1 * n2, ny))
        qfull[cm] = project(qc[:, None] * pi)
        cert.offer_primal(qfull.reshape(n1, n2, ny), "pd_dense")
        yfull[act] = y
        cert.offer_dual(yfull[: n1 * ny].reshape(n1, ny), yfull[n1 * ny :].reshape(n2, ny), "pd_dense")

    def residuals(y, s, qc):
        pi, lse = softmax(y)
        qpi = (qc[:, None] * pi).ravel()
        rb = b - amat @ qpi
        rl = lse + s
        return pi, lse, qpi, rb, rl, float(np.abs(rb).max() + np.abs(rl).max())

    def take_step(fac, comp, mu):
        """Mehrotra predictor-corrector step, shortened until the residuals stay bounded."""
        got = direction(-comp, rl, rb, fac)
        if got is None:
            return None
        dy, ds, dq = got
        a_aff = min(1.0, step(qc, dq), step(s, ds))
        mu_aff = float(((qc + a_aff * dq) * (s + a_aff * ds)).sum()) / nc
        sigma = min(1.0, (mu_aff / mu) ** 3)
        got = direction(sigma * mu - comp - dq * ds, rl, rb, fac)
        if got is None:
            return None
        dy, ds, dq = got
        # fraction to the boundary only where the boundary blocks a full step: unblocked full
        # steps keep the quadratic convergence of the last iterations
        alpha = min(1.0, ETA * min(step(qc, dq), step(s, ds)))
        # The softmax is nonlinear: in nearly flat directions of the dual (degenerate or
        # badly scaled inputs) a long step can make the residuals explode; shorten it.
        for _ in range(MAX_HALVINGS):
            if not np.isfinite(alpha) or alpha <= 1e-10:
                return None
            trial = residuals(y + alpha * dy, s + alpha * ds, qc + alpha * dq)
            if trial[5] <= GROWTH * max(rho, RESID_FLOOR):
                return alpha, dy, ds, dq, trial
            alpha *= 0.5
        return None

    pi, lse, qpi, rb, rl, rho = residuals(y, s, qc)
    it = 0
    n_cert = 0
    end = "max_iter"
    while it < max_iter:
        it += 1
        comp = qc * s
        mu = float(comp.sum()) / nc
        if not np.isfinite(mu):
            end = "breakdown"
            break
        if progress is not None:
            progress(it, max_iter, f"complementarity {nc * mu:.1e} nats")
        if nc * mu <= CERT * tol:
            offer()
            if cert.done:
                return it, "optimal"
            n_cert += 1
            if n_cert > 4:
                end = "stalled"
                break
        # sum_c A_c (diag(u_c) + kap_c u_c u_c^T) A_c^T from the (nc, ny, ny) cell blocks
        u = qpi.reshape(nc, ny)
        blk = (((1.0 / s - 1.0) / qc)[:, None] * u)[:, :, None] * u[:, None, :]
        blk[:, diag_y, diag_y] += u
        mat = np.bincount(scatter, np.repeat(blk.ravel(), 4), minlength=k * k + 1)[: k * k]
        mat = mat.reshape(k, k)  # full and symmetric: blocks are scattered both ways
        fac = Factor(mat)
        got = take_step(fac, comp, mu) if fac.ok else None
        if got is None:
            end = "no_progress"
            break
        alpha, dy, ds, dq, trial = got
        y = y + alpha * dy
        s = s + alpha * ds
        qc = qc + alpha * dq
        pi, lse, qpi, rb, rl, rho = trial
    if np.isfinite(y).all() and np.isfinite(qc).all():
        offer()
    return it, "optimal" if cert.done else end
