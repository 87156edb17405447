"""Primal log-barrier method for BROJA: the last fallback, for any alphabet size.

Path following on ``phi_mu(q) = f(q) - mu sum log q`` over the fiber. Newton directions come
from a structured KKT solve: the Hessian's cell blocks over ``y`` are inverted in closed form
and the marginal constraints are handled through a Schur complement (:class:`SchurFactor`),
eliminating the block-diagonal ``(x1, y)`` part. The multipliers of the marginal constraints
are a dual point, certified at every centred iterate. Slower (20-50 Newton steps) than the
primal-dual variants, but every iterate is primal feasible.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from infofusion.errors import EstimationError
from infofusion.measures.pid.solver.certificate import Certifier, Fiber, objective

# Centering budget per barrier value and barrier reduction factors (fast when centring took
# at most 4 steps): tuned on random and canonical distributions.
MAX_CENTERING = 12
FAST = 30.0
SLOW = 8.0
CENTRED = 5e-2  # Newton decrement^2 / mu below which a point counts as centred


def solve(fiber: Fiber, cert: Certifier, max_iter: int, progress=None) -> tuple[int, str]:
    """Run the method, offering centred points to ``cert``; returns (steps, how it ended)."""
    n1, n2, ny = fiber.shape
    p1, p2, mask, act1, act2 = fiber.p1, fiber.p2, fiber.mask, fiber.act1, fiber.act2
    tol = cert.tol
    q = np.where(mask, fiber.product(), 0.0)
    m = int(mask.sum())

    f0 = objective(q)
    gap0 = f0 - fiber.lower
    if m == 0 or ny == 1:
        return 0, "trivial"
    # Log-barrier path following on phi_mu(q) = f(q) - mu sum log q. All quantities stay O(1)
    # (mu multiplies the barrier rather than t multiplying f), Newton directions come from the
    # structured KKT solve, and the step length is chosen from the directional derivative of
    # phi_mu, which, unlike phi_mu's value, is not swamped by rounding near the optimum.
    # Start on a well-centred point: on the central path s = mu / q with O(1) reduced gradients,
    # so mu ~ mean(q) = 1/m; a smaller start makes the first centring long and fragile.
    mu = max(gap0, 1.0) / m
    # Below about 1e-11 * max(q) the Schur complement (condition ~ q / mu) is numerically
    # singular; the certified gap is then already far below any statistical error.
    mu_min = max(max(tol, 1e-16) / (10.0 * m), 1e-11 * float(q.max()))
    steps_at_mu = 0
    last_centering = 10
    sl = np.where(mask, mu / np.where(mask, q, 1.0), 0.0)  # bound multipliers, kept near mu/q
    w1 = np.zeros((n1, ny))
    w2 = np.zeros((n2, ny))
    status = "max_iter"
    it = 0
    n_centered = 0
    n_forced = 0
    primal_reset = False

    def grad_f(qq: np.ndarray) -> np.ndarray:
        qs = np.where(mask, qq, 1.0)
        q12 = qq.sum(axis=2, keepdims=True)
        return np.where(mask, np.log(qs) - np.log(np.where(q12 > 0, q12, 1.0)), 0.0)

    def slope(qq: np.ndarray, dq: np.ndarray, mu: float) -> float:
        qs = np.where(mask, qq, 1.0)
        gg = grad_f(qq) + w1[:, None, :] + w2[None, :, :] - mu / qs
        return float(np.where(mask, gg * dq, 0.0).sum())

    while it < max_iter:
        it += 1
        if progress is not None:
            progress(it, max_iter, f"barrier {mu:.1e}")
        qs = np.where(mask, q, 1.0)
        g = np.where(mask, grad_f(q) - mu / qs, 0.0)
        # Primal-dual Hessian per cell: diag((1 + s)/q) - (1/q12) 11^T; its inverse is
        # diag(u) + kappa u u^T with the denominator written without cancellation.
        u = np.where(mask, q / (1.0 + sl), 0.0)
        den = np.where(mask, q * sl / (1.0 + sl), 0.0).sum(axis=2)
        kappa = np.where(den > 0, 1.0 / np.where(den > 0, den, 1.0), 0.0)
        fac = SchurFactor(u, kappa, act1, act2)
        hg = u * g + (kappa * (u * g).sum(axis=2))[..., None] * u
        # A dq = -(A q - b) pulls rounding drift back onto the constraints at every step.
        try:
            w1n, w2n = fac.solve_refined(
                -hg.sum(axis=1) - (p1 - q.sum(axis=1)), -hg.sum(axis=0) - (p2 - q.sum(axis=0))
            )
        except EstimationError:
            status = "stalled"
            break
        v = g + w1n[:, None, :] + w2n[None, :, :]
        dq = np.where(mask, -(u * v + (kappa * (u * v).sum(axis=2))[..., None] * u), 0.0)
        # Newton decrement dq^T H dq, as sums of squares.
        r = dq / qs
        q12 = q.sum(axis=2)
        rbar = np.where(q12 > 0, dq.sum(axis=2) / np.where(q12 > 0, q12, 1.0), 0.0)
        dec = float((np.where(mask, q * (r - rbar[..., None]) ** 2 + sl * q * r * r, 0.0)).sum())
        if not np.isfinite(dec):
            status = "stalled"
            break
        steps_at_mu += 1
        budget = MAX_CENTERING if n_centered else 5 * MAX_CENTERING  # first centring is longest
        if n_centered >= 2 and steps_at_mu > 1 and dec > 1e8 * mu:
            status = "stalled"  # numerical breakdown: keep the best certified point
            break
        w1, w2 = w1n, w2n
        # Past the budget, rounding keeps the decrement on a plateau: certify the point anyway
        # (the certificate does not need exact centring) and go on while the gap still shrinks.
        forced = steps_at_mu > budget
        if dec <= CENTRED * mu or forced:
            if forced:
                n_forced += 1
                if n_forced > 2:
                    status = "stalled"
                    break
            else:
                n_forced = 0
            last_centering, steps_at_mu = steps_at_mu, 0
            n_centered += 1
            # centred: certify, keep the best point, then shrink mu
            cert.offer_dual(-w1, -w2, "primal_barrier")
            cert.offer_primal(q, "primal_barrier")
            if cert.done:
                status = "optimal"
                break
            if mu <= mu_min:
                status = "stalled"
                break
            # shrink faster while centring is cheap
            mu = max(mu / (FAST if last_centering <= 4 else SLOW), mu_min)
            sl = np.where(mask, np.clip(sl, mu / (10.0 * qs), 10.0 * mu / qs), 0.0)
            continue
        ds = np.where(mask, mu / qs - sl - sl * dq / qs, 0.0)
        alpha = min(1.0, 0.995 * max_step(q, dq, mask))
        s0 = slope(q, dq, mu)
        if s0 >= 0.0 and not primal_reset:
            # the primal-dual direction is not a descent direction of phi_mu: fall back to the
            # primal barrier Hessian (s = mu / q), for which it always is
            sl = np.where(mask, mu / qs, 0.0)
            primal_reset = True
            continue
        primal_reset = False
        # phi_mu is convex along the ray: locate the zero of its slope by safeguarded regula
        # falsi (halving alone gives only linear progress when the minimiser is near 0.5-1).
        d_hi = slope(q + alpha * dq, dq, mu)
        if d_hi > 1e-3 * abs(s0):
            a_lo, d_lo, a_hi = 0.0, s0, alpha
            alpha = 0.0
            for _ in range(8):
                width = a_hi - a_lo
                a = a_lo - d_lo * width / (d_hi - d_lo)
                a = min(max(a, a_lo + 0.02 * width), a_hi - 0.02 * width)
                d = slope(q + a * dq, dq, mu)
                if d <= 0.0:
                    a_lo, d_lo = a, d
                    alpha = a
                else:
                    a_hi, d_hi = a, d
                if abs(d) <= 0.05 * abs(s0):
                    alpha = a if d <= 1e-3 * abs(s0) else a_lo
                    break
            if alpha <= 0.0:
                alpha = a_lo
        alpha_s = min(1.0, 0.995 * max_step(sl, ds, mask))
        q = np.where(mask, q + alpha * dq, 0.0)
        qs = np.where(mask, q, 1.0)
        if n_centered:
            sl = np.where(mask, np.clip(sl + alpha_s * ds, mu / (10.0 * qs), 10.0 * mu / qs), 0.0)
        else:  # the first centring starts far from the path: primal barrier Hessian is safer
            sl = np.where(mask, mu / qs, 0.0)
    return it, "optimal" if cert.done else status



def max_step(x: np.ndarray, dx: np.ndarray, mask: np.ndarray) -> float:
    """Largest step in (0, inf] keeping ``x + step * dx >= 0`` on the mask."""
    neg = mask & (dx < 0)
    if not neg.any():
        return np.inf
    return float((-x[neg] / dx[neg]).min())


class SchurFactor:
    """Factorisation of ``A Hinv A^T`` (eliminating the block-diagonal ``(x1, y)`` part).

    ``Hinv`` has cell blocks ``diag(u) + kappa u u^T``; rows that are inactive (no variable, or
    the dropped redundant row) are pinned to zero. One factorisation serves both the predictor
    and the corrector solve.
    """

    def __init__(self, u: np.ndarray, kappa: np.ndarray, act1: np.ndarray, act2: np.ndarray):
        n1, n2, ny = u.shape
        self.shape = (n1, n2, ny)
        ku = kappa[..., None] * u
        eye = np.eye(ny)
        # S11: (n1, ny, ny); S22: (n2, ny, ny); S12: (n1, ny, n2, ny)
        s11 = np.einsum("abi,abj->aij", ku, u) + u.sum(axis=1)[:, :, None] * eye
        s22 = np.einsum("abi,abj->bij", ku, u) + u.sum(axis=0)[:, :, None] * eye
        s12 = np.einsum("abi,abj->aibj", ku, u)
        idx = np.arange(ny)
        s12[:, idx, :, idx] += u.transpose(2, 0, 1)
        a1 = act1.astype(float)
        a2 = act2.astype(float)
        s11 = s11 * a1[:, :, None] * a1[:, None, :] + (1.0 - a1)[:, :, None] * eye
        s22 = s22 * a2[:, :, None] * a2[:, None, :] + (1.0 - a2)[:, :, None] * eye
        s12 = s12 * a1[:, :, None, None] * a2[None, None, :, :]
        # Symmetric diagonal scaling so the dense factorisation sees O(1) numbers.
        d1 = 1.0 / np.sqrt(np.einsum("aii->ai", s11))
        d2 = 1.0 / np.sqrt(np.einsum("bii->bi", s22))
        s11 = s11 * d1[:, :, None] * d1[:, None, :]
        s22 = s22 * d2[:, :, None] * d2[:, None, :]
        b = (s12 * d1[:, :, None, None] * d2[None, None, :, :]).reshape(n1, ny, n2 * ny)
        self.s11_inv = np.linalg.inv(s11)  # (n1, ny, ny) positive definite blocks
        self.x = np.einsum("aij,ajk->aik", self.s11_inv, b)  # S11^{-1} S12
        self.bt = b.reshape(n1 * ny, n2 * ny).T
        schur = s22_dense(s22) - self.bt @ self.x.reshape(n1 * ny, n2 * ny)
        schur = 0.5 * (schur + schur.T)
        try:
            self.cho = linalg.cho_factor(schur, check_finite=False)
            self.schur = None
        except linalg.LinAlgError:
            self.cho = None
            self.schur = schur
        self.d1, self.d2, self.a1, self.a2 = d1, d2, a1, a2
        self.u, self.kappa = u, kappa

    def matvec(self, w1: np.ndarray, w2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``A Hinv A^T w`` on the active rows, from the cell blocks (no dense matrix)."""
        u, kappa = self.u, self.kappa
        v = w1[:, None, :] * self.a1[:, None, :] + w2[None, :, :] * self.a2[None, :, :]
        z = u * v + (kappa * (u * v).sum(axis=2))[..., None] * u
        return z.sum(axis=1) * self.a1, z.sum(axis=0) * self.a2

    def solve_refined(
        self, r1: np.ndarray, r2: np.ndarray, steps: int = 3
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`solve` plus iterative refinement against the exact structured product.

        Near the optimum the Schur complement is ill-conditioned (condition ~ 1/mu); refining
        keeps the Newton direction, and with it primal feasibility, accurate to rounding.
        """
        r1 = r1 * self.a1
        r2 = r2 * self.a2
        w1, w2 = self.solve(r1, r2)
        scale = max(np.abs(r1).max(), np.abs(r2).max(), 1e-300)
        for _ in range(steps):
            m1, m2 = self.matvec(w1, w2)
            e1, e2 = r1 - m1, r2 - m2
            if max(np.abs(e1).max(), np.abs(e2).max()) <= 1e-15 * scale:
                break
            c1, c2 = self.solve(e1, e2)
            w1, w2 = w1 + c1, w2 + c2
        return w1, w2

    def solve(self, r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Solve for ``(w1 (n1, ny), w2 (n2, ny))`` given right-hand sides of the same shapes."""
        n1, n2, ny = self.shape
        r1s = r1 * self.a1 * self.d1
        r2s = r2 * self.a2 * self.d2
        y1 = np.einsum("aij,aj->ai", self.s11_inv, r1s)
        rhs = r2s.ravel() - self.bt @ y1.ravel()
        if self.cho is not None:
            w2 = linalg.cho_solve(self.cho, rhs, check_finite=False)
        else:
            w2 = linalg.lstsq(self.schur, rhs, check_finite=False)[0]
        w1 = y1 - np.einsum("aik,k->ai", self.x, w2)
        w1 = w1 * self.d1 * self.a1
        w2 = w2.reshape(n2, ny) * self.d2 * self.a2
        if not (np.isfinite(w1).all() and np.isfinite(w2).all()):
            raise EstimationError("the BROJA Newton system became singular")
        return w1, w2


def s22_dense(s22: np.ndarray) -> np.ndarray:
    """Block-diagonal ``(n2, ny, ny)`` stack as a dense ``(n2*ny, n2*ny)`` matrix."""
    n2, ny, _ = s22.shape
    out = np.zeros((n2 * ny, n2 * ny))
    for b in range(n2):
        out[b * ny : (b + 1) * ny, b * ny : (b + 1) * ny] = s22[b]
    return out


