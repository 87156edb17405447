"""Log-barrier Newton method on the BROJA dual, for small alphabets.

Maximises ``b^T y`` subject to ``L_c(y) = log sum_y exp((A^T y)_{c y}) < 0`` for every live
cell via ``min -t b^T y - sum_c log(-L_c(y))``. Every iterate is strictly dual feasible, so
``b^T y`` is a lower bound without any shift; at centred points the barrier's stationarity
condition makes ``q_cy = softmax_c(A^T y)_y / (t (-L_c))`` nearly satisfy ``A q = b``, which
gives the upper bound after restoring the marginals. Slower than the primal-dual variants but
it never leaves the dual feasible set, which makes it a robust fallback.
"""

from __future__ import annotations

import numpy as np

from infofusion.measures.pid.solver.certificate import Certifier, Fiber
from infofusion.measures.pid.solver.pd_dense import constraint_matrix

T0 = 1.0  # initial t, per live cell
DEC_CENTRED = 8.0  # Newton decrement above which the point is re-centred before raising t
T_FACTOR = 30.0
FULL_STEP = 0.5  # below this decrement a full step is taken if it stays feasible
STEP0 = 4.0
DEC_CERTIFY = 1e-3


def solve(fiber: Fiber, cert: Certifier, max_iter: int, progress=None) -> tuple[int, str]:
    """Run the method, offering centred points to ``cert``; returns (steps, how it ended)."""
    n1, n2, ny = fiber.shape
    p1, p2, py, mask = fiber.p1, fiber.p2, fiber.py, fiber.mask
    cells = fiber.cells.ravel()
    act = np.concatenate([fiber.act1.ravel(), fiber.act2.ravel()])
    keep = np.repeat(cells, ny)
    amat = constraint_matrix(n1, n2, ny, act)[:, keep]  # (k, nc * ny)
    k = amat.shape[0]
    nc = int(cells.sum())
    neg = np.where(mask.reshape(n1 * n2, ny)[cells], 0.0, -np.inf)
    b = np.concatenate([p1.ravel(), p2.ravel()])[act]
    amat_t = np.ascontiguousarray(amat.T)
    tol = cert.tol
    # Strictly feasible start: lam(x1, y) = log p(y) - 1 gives L_c <= -1 in every cell.
    y0 = np.zeros((n1 + n2) * ny)
    y0[: n1 * ny] = np.tile(np.log(py), n1) - 1.0
    y = y0[act]
    yfull = np.zeros((n1 + n2) * ny)

    def parts(yy: np.ndarray):
        z = (amat_t @ yy).reshape(nc, ny) + neg
        zm = z.max(axis=1)
        e = np.exp(z - zm[:, None])
        se = e.sum(axis=1)
        return e / se[:, None], zm + np.log(se)

    def barrier(yy: np.ndarray, t: float):
        got = parts(yy)
        if not (got[1] < 0).all():
            return np.inf, got
        return float(-t * (b @ yy) - np.log(-got[1]).sum()), got

    def certify(t: float) -> None:
        q = np.zeros(n1 * n2 * ny)
        q[keep] = (pi / (-t * lse)[:, None]).ravel()
        cert.offer_primal(q.reshape(n1, n2, ny), "dual_barrier")
        yfull[act] = y
        cert.offer_dual(yfull[: n1 * ny].reshape(n1, ny), yfull[n1 * ny :].reshape(n2, ny), "dual_barrier")

    pi, lse = parts(y)
    t = T0 * nc
    it = 0
    end = "max_iter"
    while it < max_iter:
        it += 1
        neg_l = -lse
        w = (pi / neg_l[:, None]).ravel()  # q * t at centred points
        grad = amat @ w - t * b
        aw = amat * w
        cmat = aw.reshape(k, nc, ny).sum(axis=2)  # A_c pi_c / (-L_c)
        hess = aw @ amat_t + (cmat * (1.0 - neg_l)) @ cmat.T
        # symmetric scaling keeps the O(1/t)-conditioned system solvable
        dsc = 1.0 / np.sqrt(np.diag(hess))
        try:
            dy = -dsc * np.linalg.solve(hess * dsc[:, None] * dsc[None, :], dsc * grad)
        except np.linalg.LinAlgError:
            end = "singular"
            break
        dec = float(-(grad @ dy))
        if not np.isfinite(dec) or dec < 0.0:
            end = "breakdown"
            break
        if progress is not None:
            progress(it, max_iter, f"barrier gap {nc / t:.1e} nats")
        # Backtracking (Armijo) on the barrier function, which also keeps L_c < 0. Far from
        # the centre the accepted step is about 1/sqrt(decrement): start there.
        f0 = float(-t * (b @ y) - np.log(neg_l).sum())
        step = min(1.0, STEP0 / np.sqrt(dec)) if dec > 0.0 else 1.0
        for _ in range(60):
            fn, got = barrier(y + step * dy, t)
            # Close to the centre the full Newton step converges quadratically while
            # rounding swamps the barrier's decrease: feasibility suffices.
            if fn <= f0 - 0.25 * step * dec or (dec <= FULL_STEP and np.isfinite(fn)):
                break
            step *= 0.5
        else:
            step = 0.0
        if step > 0.0:
            y = y + step * dy
            pi, lse = got
        if dec > DEC_CENTRED and step > 0.0:
            continue
        if nc / t > 0.5 * tol and step > 0.0:
            t *= T_FACTOR
            continue
        # the primal estimate is accurate only at well-centred points: finish centring
        if dec > DEC_CERTIFY and step > 0.0:
            continue
        certify(t)
        if cert.done:
            return it, "optimal"
        if step == 0.0 or nc / t < 1e-4 * tol:
            end = "stalled"
            break
        if dec > 1e-12:
            continue  # centre more tightly before raising t
        t *= T_FACTOR
    return it, "optimal" if cert.done else end
