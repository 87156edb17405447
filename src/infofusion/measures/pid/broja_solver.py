"""Exact BROJA optimisation: primal-dual Newton on the dual problem, with a certified gap.

The BROJA unique information (Bertschinger, Rauh, Olbrich, Jost, Ay 2014) needs

.. math::

    \\min_{Q \\in \\Delta_P} \\; f(Q) = -H_Q(Y \\mid X_1, X_2), \\qquad
    \\Delta_P = \\{Q \\ge 0 : Q(x_1, y) = P(x_1, y),\\; Q(x_2, y) = P(x_2, y)\\}.

``f`` is convex and positively homogeneous, so its Lagrange dual is

.. math::

    \\max_{\\lambda, \\mu} \\sum \\lambda(x_1, y) P(x_1, y) + \\sum \\mu(x_2, y) P(x_2, y)
    \\quad \\text{s.t.} \\quad L_c = \\log \\sum_y e^{\\lambda(x_1, y) + \\mu(x_2, y)} \\le 0
    \\;\\; \\forall c = (x_1, x_2),

and at the optimum ``Q(x1, x2, y) = q_c softmax_y(lam + mu)`` with cell masses ``q_c`` (the
multipliers of the cell constraints). The main method (:func:`_solve_dual_pd`) applies a
Mehrotra predictor-corrector interior-point iteration to this dual's KKT system, starting from
the product distribution ``P(x1, y) P(x2, y) / P(y)`` with the multipliers that reproduce it;
it needs about a dozen Newton steps to a gap of 1e-9 nats. Each step solves one symmetric
positive definite system over the ``k = (n1 + n2 - 1) ny`` independent marginal rows, built
from ``ny x ny`` cell blocks; small alphabets use dense products with the constraint matrix
and raw LAPACK calls (:func:`_solve_dual_pd_dense`), because there the cost is the number of
numpy calls, not arithmetic.

Every answer is certified: the dual objective at the returned multipliers (shifted until
every ``L_c <= 0``) is a lower bound, the objective of the returned feasible ``q`` (a weighted
projection plus proportional fitting removes rounding drift from the marginals) an upper bound.
If the primal-dual method cannot certify the tolerance, a log-barrier method on the dual
(small alphabets, :func:`_solve_dual_dense`) and then the original primal log-barrier method
(:func:`_solve_reduced`, a structured Newton method whose Hessian blocks over ``y`` are
inverted in closed form) take over.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

from infofusion.errors import EstimationError

_potrf, _potrs = linalg.get_lapack_funcs(("potrf", "potrs"), (np.zeros(1),))

# Centering budget per barrier value and barrier reduction factors (fast when centring took
# at most 4 steps): tuned on random and canonical distributions.
_MAX_CENTERING = 12
_FAST = 30.0
_SLOW = 8.0
_CENTRED = 5e-2  # Newton decrement^2 / mu below which a point counts as centred


@dataclass
class BrojaSolution:
    """Result of :func:`solve_broja` (values in nats).

    Attributes:
        q: ``(n1, n2, ny)`` optimal joint (feasible for the marginal constraints).
        value: ``f(q) = -H_q(Y | X1, X2)`` at the returned ``q`` (an upper bound of the optimum).
        dual_value: the certified lower bound of the optimum.
        gap: ``value - dual_value`` (>= 0).
        feasibility: max absolute violation of the two marginal constraints.
        newton_steps: total Newton steps taken.
        seconds: wall time.
        status: ``"optimal"`` (gap within tolerance), ``"stalled"`` (rounding limits the
            gap; the best certified point is returned) or ``"max_iter"``.
    """

    q: np.ndarray
    value: float
    dual_value: float
    gap: float
    feasibility: float
    newton_steps: int
    seconds: float
    status: str
    extra: dict = field(default_factory=dict)


def _objective(q: np.ndarray) -> float:
    """``-H_q(Y|X1,X2)`` in nats for a non-negative (n1, n2, ny) array."""
    q12 = q.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(q / np.where(q12 > 0, q12, 1.0)), 0.0)
    return float(terms.sum())


def _dual_value(
    lam: np.ndarray, mu: np.ndarray, mask: np.ndarray, p1: np.ndarray, p2: np.ndarray
) -> float:
    """Dual objective at (lam, mu) after the cheapest feasibility shift (lower bound)."""
    s = lam[:, None, :] + mu[None, :, :]  # (n1, n2, ny)
    s = np.where(mask, s, -np.inf)
    mx = s.max(axis=2)
    has = np.isfinite(mx)
    safe = np.where(has, mx, 0.0)
    with np.errstate(divide="ignore"):
        lse = safe + np.log(np.exp(s - safe[..., None]).sum(axis=2))
    lse = np.where(has, lse, -np.inf)  # cells with no admissible y carry no constraint
    base = float((lam * p1).sum() + (mu * p2).sum())
    m1 = p1.sum(axis=1)
    m2 = p2.sum(axis=1)
    shift1 = np.maximum(lse.max(axis=1), 0.0)  # per x1: lower lam(x1, .) until feasible
    shift2 = np.maximum(lse.max(axis=0), 0.0)
    return max(base - float((m1 * shift1).sum()), base - float((m2 * shift2).sum()))


_THREAD_CONTROLLER: list = []


def _blas_threads(k: int):
    """Context running BLAS/LAPACK single-threaded for systems of moderate size ``k``.

    Factorising a few-hundred-row matrix with several OpenBLAS threads gains nothing, and on
    a busy machine their synchronisation can cost a hundred times the arithmetic. Large
    systems keep the library's threading; without threadpoolctl nothing changes.
    """
    if k < 64 or k > 1200:
        return contextlib.nullcontext()
    if not _THREAD_CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _THREAD_CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _THREAD_CONTROLLER.append(None)
    ctrl = _THREAD_CONTROLLER[0]
    return contextlib.nullcontext() if ctrl is None else ctrl.limit(limits=1, user_api="blas")


def solve_broja(
    p: np.ndarray,
    tol: float = 1e-9,
    max_iter: int = 300,
) -> BrojaSolution:
    """Minimise ``-H_Q(Y|X1,X2)`` over the BROJA fiber of ``p``.

    Args:
        p: ``(n1, n2, ny)`` joint distribution (sums to one).
        tol: target certified duality gap in nats.
        max_iter: cap on the number of interior-point iterations.

    Returns:
        :class:`BrojaSolution` with ``q`` in the original ``(n1, n2, ny)`` layout.
    """
    start = time.perf_counter()
    p = np.asarray(p, dtype=np.float64)
    full_shape = p.shape
    # Drop outcomes of zero probability: they carry no variables.
    k1 = p.sum(axis=(1, 2)) > 0
    k2 = p.sum(axis=(0, 2)) > 0
    ky = p.sum(axis=(0, 1)) > 0
    trimmed = not (k1.all() and k2.all() and ky.all())
    pr = p[np.ix_(k1, k2, ky)] if trimmed else p
    swapped = pr.shape[1] > pr.shape[0]  # keep the dense Schur block on the smaller source
    if swapped:
        pr = pr.transpose(1, 0, 2)
    n1, n2, ny = pr.shape
    k = (n1 + n2 - 1) * ny
    small = k * k * pr.size <= _DUAL_DENSE_WORK
    # Primal-dual on the dual first (about a dozen steps); the dual barrier method and the
    # primal barrier method are fallbacks for inputs where it cannot certify the tolerance.
    res = None
    with _blas_threads(k):
        if min(n1, n2, ny) > 1:
            try:
                # a breakdown shows up as inf/nan and ends in the fallback, not as a warning
                with np.errstate(all="ignore"):
                    res = (_solve_dual_pd_dense if small else _solve_dual_pd)(pr, tol, max_iter)
            except (np.linalg.LinAlgError, linalg.LinAlgError, EstimationError, FloatingPointError):
                res = None
            if res is None and small:
                res = _solve_dual_dense(pr, tol, max_iter)
        q, info = res if res is not None else _solve_reduced(pr, tol, max_iter)
    if swapped:
        q = q.transpose(1, 0, 2)
    if trimmed:
        q_full = np.zeros(full_shape)
        q_full[np.ix_(k1, k2, ky)] = q
    else:
        q_full = q
    info["seconds"] = time.perf_counter() - start
    return BrojaSolution(q=q_full, **info)


def _solve_reduced(
    p: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, dict]:
    n1, n2, ny = p.shape
    p1 = p.sum(axis=1)  # (n1, ny)
    p2 = p.sum(axis=0)  # (n2, ny)
    py = p1.sum(axis=0)
    mask = (p1[:, None, :] > 0) & (p2[None, :, :] > 0)  # admissible cells
    q = np.where(mask, p1[:, None, :] * p2[None, :, :] / py[None, None, :], 0.0)
    m = int(mask.sum())
    # Constraint rows: (x1, y) with p1 > 0, and (x2, y) with p2 > 0 except one per y, which is
    # implied by the others (both marginals of y agree).
    act1 = p1 > 0
    act2 = p2 > 0
    first = np.argmax(act2, axis=0)
    act2[first, np.arange(ny)] = False

    def feas(qq: np.ndarray) -> float:
        return float(
            max(np.abs(qq.sum(axis=1) - p1).max(), np.abs(qq.sum(axis=0) - p2).max())
        )

    f0 = _objective(q)
    h1 = -_objective(p.sum(axis=1)[:, None, :])  # H(Y|X1)
    h2 = -_objective(p.sum(axis=0)[None, :, :])  # H(Y|X2)
    lower = -min(h1, h2)  # f >= -H(Y|Xi) on the whole fiber
    gap0 = f0 - lower
    if m == 0 or gap0 <= tol or ny == 1:
        return q, dict(
            value=f0, dual_value=max(lower, f0 - max(gap0, 0.0)), gap=max(gap0, 0.0),
            feasibility=feas(q), newton_steps=0, status="optimal",
        )
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
    best_dual = lower
    best_q, best_value = q, f0
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
        qs = np.where(mask, q, 1.0)
        g = np.where(mask, grad_f(q) - mu / qs, 0.0)
        # Primal-dual Hessian per cell: diag((1 + s)/q) - (1/q12) 11^T; its inverse is
        # diag(u) + kappa u u^T with the denominator written without cancellation.
        u = np.where(mask, q / (1.0 + sl), 0.0)
        den = np.where(mask, q * sl / (1.0 + sl), 0.0).sum(axis=2)
        kappa = np.where(den > 0, 1.0 / np.where(den > 0, den, 1.0), 0.0)
        fac = _SchurFactor(u, kappa, act1, act2)
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
        budget = _MAX_CENTERING if n_centered else 5 * _MAX_CENTERING  # first centring is longest
        if n_centered >= 2 and steps_at_mu > 1 and dec > 1e8 * mu:
            status = "stalled"  # numerical breakdown: keep the best certified point
            break
        w1, w2 = w1n, w2n
        # Past the budget, rounding keeps the decrement on a plateau: certify the point anyway
        # (the certificate does not need exact centring) and go on while the gap still shrinks.
        forced = steps_at_mu > budget
        if dec <= _CENTRED * mu or forced:
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
            dual = _dual_value(-w1, -w2, mask, p1, p2)
            best_dual = max(best_dual, dual)
            qp = _polish_feasibility(q, p1, p2)
            value = _objective(qp)
            if value < best_value:
                best_q, best_value = qp, value
            if best_value - best_dual <= tol:
                status = "optimal"
                break
            if mu <= mu_min:
                status = "stalled"
                break
            # shrink faster while centring is cheap
            mu = max(mu / (_FAST if last_centering <= 4 else _SLOW), mu_min)
            sl = np.where(mask, np.clip(sl, mu / (10.0 * qs), 10.0 * mu / qs), 0.0)
            continue
        ds = np.where(mask, mu / qs - sl - sl * dq / qs, 0.0)
        alpha = min(1.0, 0.995 * _max_step(q, dq, mask))
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
        alpha_s = min(1.0, 0.995 * _max_step(sl, ds, mask))
        q = np.where(mask, q + alpha * dq, 0.0)
        qs = np.where(mask, q, 1.0)
        if n_centered:
            sl = np.where(mask, np.clip(sl + alpha_s * ds, mu / (10.0 * qs), 10.0 * mu / qs), 0.0)
        else:  # the first centring starts far from the path: primal barrier Hessian is safer
            sl = np.where(mask, mu / qs, 0.0)
    q = best_q
    value = best_value
    if status != "optimal" and value - best_dual <= 10 * tol:
        status = "optimal"
    return q, dict(
        value=value, dual_value=best_dual, gap=max(value - best_dual, 0.0),
        feasibility=feas(q), newton_steps=it, status=status,
    )


def _max_step(x: np.ndarray, dx: np.ndarray, mask: np.ndarray) -> float:
    """Largest step in (0, inf] keeping ``x + step * dx >= 0`` on the mask."""
    neg = mask & (dx < 0)
    if not neg.any():
        return np.inf
    return float((-x[neg] / dx[neg]).min())


def _polish_feasibility(q: np.ndarray, p1: np.ndarray, p2: np.ndarray, sweeps: int = 200) -> np.ndarray:
    """Remove rounding drift from the marginal constraints by proportional fitting per y.

    Each y-slice of ``q`` is rescaled alternately along x1 and x2 (iterative proportional
    fitting), which keeps the support and moves ``q`` by a relative amount of the size of the
    drift (about 1e-12), so the objective changes far below the reported gap.
    """
    q = q.copy()
    last = np.inf
    for _ in range(sweeps):
        s1 = q.sum(axis=1)
        q *= np.where(s1 > 0, p1 / np.where(s1 > 0, s1, 1.0), 0.0)[:, None, :]
        s2 = q.sum(axis=0)
        q *= np.where(s2 > 0, p2 / np.where(s2 > 0, s2, 1.0), 0.0)[None, :, :]
        err = np.abs(q.sum(axis=1) - p1).max()
        if err <= 1e-15 or err >= last:  # done, or no longer improving (rounding)
            break
        last = err
    return q


class _SchurFactor:
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


# Small problems (dense Hessian assembly ``k * k * n1 * n2 * ny`` below this, ``k`` the number of
# independent marginal constraints) are solved in the dual with one dense Cholesky per step;
# the work there is dominated by per-call overhead, which the dual keeps to a few dozen calls.
_DUAL_DENSE_WORK = 2.5e6
_T0 = 1.0
_DEC_CENTRED = 8.0
_T_FACTOR = 30.0
_FULL_STEP = 0.5
_STEP0 = 4.0
_DEC_CERTIFY = 1e-3
_PD_ETA = 0.995
_PD_CERT = 0.5
_PD_S0 = 0.01


def _constraint_matrix(n1: int, n2: int, ny: int, act: np.ndarray) -> np.ndarray:
    """Rows ``(x1, y)`` then ``(x2, y)`` of the marginal map, restricted to ``act``: (k, n1*n2*ny)."""
    x1, x2, yy = np.indices((n1, n2, ny)).reshape(3, -1)
    col = np.arange(n1 * n2 * ny)
    a = np.zeros(((n1 + n2) * ny, n1 * n2 * ny))
    a[x1 * ny + yy, col] = 1.0
    a[(n1 + x2) * ny + yy, col] = 1.0
    return np.ascontiguousarray(a[act])


def _solve_dual_dense(p: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, dict] | None:
    """Log-barrier Newton method on the dual, for small alphabets.

    Maximises ``b^T y`` subject to ``L_c(y) = log sum_y exp((A^T y)_{c y}) < 0`` for every cell
    ``c = (x1, x2)`` via ``min -t b^T y - sum_c log(-L_c(y))``. Every iterate is strictly dual
    feasible, so ``b^T y`` is a certified lower bound; the barrier's stationarity condition
    makes ``q_cy = softmax_c(A^T y)_y / (t (-L_c))`` satisfy ``A q = b`` at centred points, and a
    few proportional-fitting sweeps remove the remaining residual to give the upper bound.
    Returns ``None`` if the certified gap does not reach ``tol`` (the caller falls back).
    """
    n1, n2, ny = p.shape
    p1 = p.sum(axis=1)
    p2 = p.sum(axis=0)
    py = p1.sum(axis=0)
    mask = (p1[:, None, :] > 0) & (p2[None, :, :] > 0)
    cells = mask.reshape(n1 * n2, ny).any(axis=1)
    act1 = p1 > 0
    act2 = p2 > 0
    act2[np.argmax(act2, axis=0), np.arange(ny)] = False  # one (x2, y) row per y is implied
    act = np.concatenate([act1.ravel(), act2.ravel()])
    # Only cells with an admissible y constrain the dual; others are dropped from the columns.
    keep = np.repeat(cells, ny)
    amat = _constraint_matrix(n1, n2, ny, act)[:, keep]  # (k, nc * ny)
    k = amat.shape[0]
    nc = int(cells.sum())
    neg = np.where(mask.reshape(n1 * n2, ny)[cells], 0.0, -np.inf)  # (nc, ny): inadmissible y
    b = np.concatenate([p1.ravel(), p2.ravel()])[act]
    amat_t = np.ascontiguousarray(amat.T)
    # Strictly feasible start: lam(x1, y) = log p(y) - 1 gives L_c <= -1 in every cell.
    y0 = np.zeros((n1 + n2) * ny)
    y0[: n1 * ny] = np.tile(np.log(py), n1) - 1.0
    y = y0[act]

    def parts(yy: np.ndarray):
        z = (amat_t @ yy).reshape(nc, ny) + neg
        zm = z.max(axis=1)
        e = np.exp(z - zm[:, None])
        se = e.sum(axis=1)
        return z, e / se[:, None], zm + np.log(se)

    def barrier(yy: np.ndarray, t: float):
        got = parts(yy)
        if (got[2] >= 0).any():
            return np.inf, got
        return float(-t * (b @ yy) - np.log(-got[2]).sum()), got

    _, pi, lse = parts(y)
    t = _T0 * nc
    it = 0
    while it < max_iter:
        it += 1
        neg_l = -lse
        w = (pi / neg_l[:, None]).ravel()  # q * t at centred points
        grad = amat @ w - t * b
        aw = amat * w
        cmat = aw.reshape(k, nc, ny).sum(axis=2)  # A_c pi_c / (-L_c)
        hess = aw @ amat_t + (cmat * (1.0 - neg_l)) @ cmat.T
        # Symmetric scaling keeps the O(1/t)-conditioned system solvable; at these sizes one
        # LAPACK call (no wrapper checks) is much cheaper than a separate factor and solve.
        dsc = 1.0 / np.sqrt(np.diag(hess))
        try:
            dy = -dsc * np.linalg.solve(hess * dsc[:, None] * dsc[None, :], dsc * grad)
        except np.linalg.LinAlgError:
            break
        dec = float(-(grad @ dy))
        if not np.isfinite(dec) or dec < 0.0:
            break
        # Backtracking (Armijo) on the barrier function, which also keeps L_c < 0. Far from
        # the centre the accepted step is about 1/sqrt(decrement): start there.
        f0 = float(-t * (b @ y) - np.log(neg_l).sum())
        step = min(1.0, _STEP0 / np.sqrt(dec)) if dec > 0.0 else 1.0
        for _ in range(60):
            fn, got = barrier(y + step * dy, t)
            # Close to the centre (small decrement) the full Newton step converges
            # quadratically while rounding swamps the barrier's decrease: feasibility suffices.
            if fn <= f0 - 0.25 * step * dec or (dec <= _FULL_STEP and np.isfinite(fn)):
                break
            step *= 0.5
        else:
            step = 0.0
        if step > 0.0:
            y = y + step * dy
            _, pi, lse = got
        if dec > _DEC_CENTRED and step > 0.0:
            continue
        if nc / t > 0.5 * tol and step > 0.0:
            t *= _T_FACTOR
            continue
        # The primal estimate is accurate only at well-centred points: finish centring
        # (quadratically convergent here) before certifying.
        if dec > _DEC_CERTIFY and step > 0.0:
            continue
        # centred: certify with the primal estimate, then raise t
        q = np.zeros(n1 * n2 * ny)
        q[keep] = (pi / (-t * lse)[:, None]).ravel()
        q = _polish_feasibility(q.reshape(n1, n2, ny), p1, p2)
        value = _objective(q)
        dual = float(b @ y)
        feas = float(max(np.abs(q.sum(axis=1) - p1).max(), np.abs(q.sum(axis=0) - p2).max()))
        # Proportional fitting converges slowly where whole cells vanish; then centre
        # further (a more accurate primal estimate) rather than return a drifting point.
        if value - dual <= tol and feas <= 1e-12:
            return q, dict(
                value=value, dual_value=dual, gap=max(value - dual, 0.0), feasibility=feas,
                newton_steps=it, status="optimal",
            )
        if step == 0.0 or nc / t < 1e-4 * tol:
            break
        if dec > 1e-12:
            continue  # centre more tightly before raising t
        t *= _T_FACTOR
    return None


def _solve_dual_pd(p: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, dict] | None:
    """Primal-dual (Mehrotra predictor-corrector) method on the dual's KKT system.

    Unknowns: multipliers ``y = (lam (n1, ny), mu (n2, ny))``, slacks ``s_c = -L_c(y) > 0`` and
    cell masses ``q_c > 0``; the primal is ``q_cy = q_c softmax_c(A^T y)_y``. The equations are
    ``A q = b``, ``L_c(y) + s_c = 0`` and ``q_c s_c = sigma mu``. The log-sum-exp ``L_c`` has a
    bounded Hessian, so full Newton steps stay accurate (unlike Newton steps on ``log q``).
    Starting from the product distribution, with ``y`` chosen so that the softmax reproduces it,
    ``A q = b`` holds at the start; the slacks start perfectly centred. The certificate is the Lagrange dual at
    ``y`` (shifted to feasibility) against the objective of the polished primal.
    Returns ``None`` if the gap does not reach ``tol``; the caller then falls back.
    """
    n1, n2, ny = p.shape
    p1 = p.sum(axis=1)
    p2 = p.sum(axis=0)
    py = p1.sum(axis=0)
    mask = (p1[:, None, :] > 0) & (p2[None, :, :] > 0)
    full = bool(mask.all())
    cm = mask.any(axis=2)  # cells with at least one admissible y
    cmf = cm.astype(np.float64)
    nc = int(cm.sum())
    neg = np.where(mask | ~cm[..., None], 0.0, -np.inf)  # inadmissible y inside live cells
    act1 = p1 > 0
    act2 = p2 > 0
    first = np.argmax(act2, axis=0)
    act2[first, np.arange(ny)] = False  # one (x2, y) row per y is implied by the others
    a1f = act1.astype(np.float64)
    a2f = act2.astype(np.float64)
    with np.errstate(divide="ignore"):
        l1 = np.where(act1, np.log(p1) - np.log(py)[None, :], 0.0)
        l2 = np.where(p2 > 0, np.log(p2), 0.0)
    ref = l2[first, np.arange(ny)]
    lam = np.where(act1, l1 + ref[None, :], 0.0)  # softmax(lam + mu) = product distribution
    mu_ = np.where(act2, l2 - ref[None, :], 0.0)

    def softmax(lam: np.ndarray, mu_: np.ndarray):
        z = lam[:, None, :] + mu_[None, :, :]
        if not full:
            z = z + neg
        zm = z.max(axis=2)
        e = np.exp(z - zm[..., None])
        se = e.sum(axis=2)
        return e / se[..., None], zm + np.log(se)

    pi, lse = softmax(lam, mu_)
    if not full:
        pi = pi * cmf[..., None]
        lse = np.where(cm, lse, -1.0)
    qc = (p1[:, None, :] * p2[None, :, :] / py).sum(axis=2) * cmf
    s = np.where(cm, _PD_S0 * float((qc * -lse)[cm].mean()) / np.where(cm, qc, 1.0), 1.0)
    if not full:
        qc = np.where(cm, np.maximum(qc, 1e-300), 0.0)

    def direction(rc, qc, s, pi, rl, rb1, rb2, solver):
        wc = np.where(cm, (rc + qc * rl) / s, 0.0)
        wpi = wc[..., None] * pi
        d1, d2 = solver(rb1 - wpi.sum(axis=1), rb2 - wpi.sum(axis=0))
        gdy = ((d1[:, None, :] + d2[None, :, :]) * pi).sum(axis=2)  # grad L_c . dy
        ds = (-rl - gdy) * cmf
        dq = np.where(cm, (rc - qc * ds) / s, 0.0)
        return d1, d2, ds, dq

    it = 0
    n_cert = 0
    while it < max_iter:
        it += 1
        qpi = qc[..., None] * pi
        rb1 = (p1 - qpi.sum(axis=1)) * a1f
        rb2 = (p2 - qpi.sum(axis=0)) * a2f
        rl = (lse + s) * cmf
        comp = qc * s
        mu = float(comp.sum()) / nc
        if nc * mu <= _PD_CERT * tol and max(np.abs(rb1).max(), np.abs(rb2).max()) <= 1e-9:
            # Certify: rounding keeps A q - b near 1e-12 here, which the polish removes.
            got = _certify(lam, mu_, qc[..., None] * pi, mask, p1, p2, tol)
            if got is not None:
                got[1]["newton_steps"] = it
                return got
            n_cert += 1
            if n_cert > 3:
                return None  # certified before and failed: stop
        u = qpi
        kap = np.where(cm, (1.0 / s - 1.0) / np.where(cm, qc, 1.0), 0.0)
        try:
            solver = _full_solver(u, kap, act1, act2)
        except (np.linalg.LinAlgError, linalg.LinAlgError, FloatingPointError, ValueError):
            break

        def step(x: np.ndarray, dx: np.ndarray) -> float:
            r = float((dx / x).min())  # x > 0 (1 off the live cells, where dx = 0)
            return 1.0 if r >= -1.0 else -1.0 / r

        try:
            d1, d2, ds, dq = direction(-comp, qc, s, pi, rl, rb1, rb2, solver)
        except (np.linalg.LinAlgError, EstimationError):
            break
        a_aff = min(step(qc + (1.0 - cmf), dq), step(s, ds))
        mu_aff = float(((qc + a_aff * dq) * (s + a_aff * ds)).sum()) / nc
        sigma = min(1.0, (mu_aff / mu) ** 3)
        rc = (sigma * mu - comp - dq * ds) * cmf
        try:
            d1, d2, ds, dq = direction(rc, qc, s, pi, rl, rb1, rb2, solver)
        except (np.linalg.LinAlgError, EstimationError):
            break
        alpha = _PD_ETA * min(step(qc + (1.0 - cmf), dq), step(s, ds))
        if not np.isfinite(alpha) or alpha <= 1e-10:
            break
        lam = lam + alpha * d1
        mu_ = mu_ + alpha * d2
        s = s + alpha * ds
        qc = qc + alpha * dq
        pi, lse = softmax(lam, mu_)
        if not full:
            pi = pi * cmf[..., None]
            lse = np.where(cm, lse, -1.0)
    # Rounding stopped progress (the system's condition grows like 1/mu): the iterate may
    # still certify the tolerance.
    got = _certify(lam, mu_, qc[..., None] * pi, mask, p1, p2, tol)
    if got is not None:
        got[1]["newton_steps"] = it
    return got


def _certify(
    lam: np.ndarray, mu_: np.ndarray, q: np.ndarray, mask: np.ndarray, p1: np.ndarray,
    p2: np.ndarray, tol: float,
) -> tuple[np.ndarray, dict] | None:
    """Polished primal and shifted dual at an iterate; ``None`` unless the gap is within tol."""
    dual = _dual_value(lam, mu_, mask, p1, p2)
    q = _polish_feasibility(q, p1, p2)
    value = _objective(q)
    feas = float(max(np.abs(q.sum(axis=1) - p1).max(), np.abs(q.sum(axis=0) - p2).max()))
    if not (np.isfinite(value) and np.isfinite(dual)) or value - dual > tol or feas > 1e-12:
        return None
    return q, dict(
        value=value, dual_value=dual, gap=max(value - dual, 0.0), feasibility=feas,
        newton_steps=0, status="optimal",
    )


@functools.lru_cache(maxsize=16)
def _dense_maps(
    n1: int, n2: int, ny: int, act_bytes: bytes, cm_bytes: bytes
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constraint matrix over the live cells, its transpose, and the block scatter map.

    The scatter map sends entry ``(y, y')`` of live cell ``c = (x1, x2)``'s ``ny x ny`` block
    to the flat ``k x k`` positions coupling rows ``(x1, y)``/``(x2, y)`` with
    ``(x1, y')``/``(x2, y')``; pairs touching an inactive row go to a dummy bin ``k * k``.
    Cached: the arrays are read-only.
    """
    act = np.frombuffer(act_bytes, dtype=bool)
    cm = np.frombuffer(cm_bytes, dtype=bool)
    amat = np.ascontiguousarray(_constraint_matrix(n1, n2, ny, act)[:, np.repeat(cm, ny)])
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


def _solve_dual_pd_dense(p: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, dict] | None:
    """:func:`_solve_dual_pd` for small alphabets, with every marginal map a dense product.

    The multipliers are one vector over the ``k`` independent constraint rows, so each step is
    a few dozen numpy calls (``A q``, ``A^T y``, one ``k x k`` solve per direction); at these
    sizes the call count, not arithmetic, is the cost.
    """
    n1, n2, ny = p.shape
    p1 = p.sum(axis=1)
    p2 = p.sum(axis=0)
    py = p1.sum(axis=0)
    mask = (p1[:, None, :] > 0) & (p2[None, :, :] > 0)
    cm = mask.any(axis=2).ravel()  # cells with at least one admissible y
    maskc = mask.reshape(n1 * n2, ny)[cm]
    full = bool(maskc.all())
    nc = int(cm.sum())
    neg = np.where(maskc, 0.0, -np.inf)
    act1 = p1 > 0
    act2 = p2 > 0
    first = np.argmax(act2, axis=0)
    act2[first, np.arange(ny)] = False  # one (x2, y) row per y is implied by the others
    act = np.concatenate([act1.ravel(), act2.ravel()])
    # Repeated solves on one support pattern (bootstrap, permutation nulls) share the maps.
    amat, amat_t, scatter = _dense_maps(n1, n2, ny, act.tobytes(), cm.tobytes())
    k = amat.shape[0]
    b = np.concatenate([p1.ravel(), p2.ravel()])[act]
    diag_y = np.arange(ny)
    with np.errstate(divide="ignore"):
        l1 = np.where(act1, np.log(p1) - np.log(py)[None, :], 0.0)
        l2 = np.where(p2 > 0, np.log(p2), 0.0)
    ref = l2[first, np.arange(ny)]
    # softmax(lam + mu) reproduces the product distribution: A q = b at the start
    y = np.concatenate([(l1 + ref[None, :]).ravel(), (l2 - ref[None, :]).ravel()])[act]

    def softmax(yy: np.ndarray):
        z = (amat_t @ yy).reshape(nc, ny)
        if not full:
            z = z + neg
        zm = z.max(axis=1)
        e = np.exp(z - zm[:, None])
        se = e.sum(axis=1)
        return e / se[:, None], zm + np.log(se)

    pi, lse = softmax(y)
    qc = (p1[:, None, :] * p2[None, :, :] / py).sum(axis=2).ravel()[cm]
    # Perfectly centred start (q_c s_c equal) at 1/100 of the feasible start's mean
    # complementarity: the residual L + s this leaves costs less than the decades saved.
    s = _PD_S0 * float((qc * -lse).mean()) / qc

    def step(x: np.ndarray, dx: np.ndarray) -> float:
        # x > 0: the largest feasible step is -1 / min(dx / x) when that minimum is negative
        r = float((dx / x).min())
        return np.inf if r >= 0.0 else -1.0 / r

    def direction(rc, qc, s, rl, rb, chol, pi):
        w = (rc + qc * rl) / s
        dy, info = _potrs(chol, rb - amat @ (pi * w[:, None]).ravel())
        if info != 0:
            return None
        ds = -rl - ((amat_t @ dy).reshape(nc, ny) * pi).sum(axis=1)  # grad L_c . dy
        return dy, ds, (rc - qc * ds) / s

    def project(qcells: np.ndarray) -> np.ndarray:
        # Weighted least-squares correction onto A q = b (min sum dq^2 / q): one k x k solve
        # instead of many proportional-fitting sweeps; the relative change is of the size of
        # the residual, so q stays positive (checked, else the sweeps do the work).
        qf = qcells.ravel()
        chol, info = _potrf((amat * qf) @ amat_t, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return qcells
        w, info = _potrs(chol, b - amat @ qf)
        if info != 0:
            return qcells
        qn = qf * (1.0 + amat_t @ w)
        return qn.reshape(qcells.shape) if (qn >= 0).all() else qcells

    it = 0
    n_cert = 0
    while it < max_iter:
        it += 1
        qpi = (qc[:, None] * pi).ravel()
        rb = b - amat @ qpi
        rl = lse + s
        comp = qc * s
        mu = float(comp.sum()) / nc
        if not np.isfinite(mu):
            break
        if nc * mu <= _PD_CERT * tol and np.abs(rb).max() <= 1e-9:
            got = _certify_dense(y, project(qc[:, None] * pi), act, cm, mask, p1, p2, tol)
            if got is not None:
                got[1]["newton_steps"] = it
                return got
            n_cert += 1
            if n_cert > 3:
                return None
        # System matrix sum_c A_c (diag(u_c) + kap_c u_c u_c^T) A_c^T with u_c = q_c pi_c and
        # kap_c = (1/s_c - 1)/q_c, accumulated from the (nc, ny, ny) cell blocks in one bincount.
        u = qpi.reshape(nc, ny)
        blk = (((1.0 / s - 1.0) / qc)[:, None] * u)[:, :, None] * u[:, None, :]
        blk[:, diag_y, diag_y] += u
        mat = np.bincount(scatter, np.repeat(blk.ravel(), 4), minlength=k * k + 1)[: k * k]
        mat = mat.reshape(k, k)
        # Raw LAPACK: the wrappers' checks cost more than the factorisation at this size.
        # Cholesky needs no diagonal scaling (its accuracy is scaling invariant).
        chol, info = _potrf(mat, lower=0, clean=0, overwrite_a=0)
        if info != 0:
            # Rounding made the (PD in exact arithmetic) matrix indefinite: regularise slightly.
            mat[np.diag_indices(k)] *= 1.0 + 1e-12
            mat[np.diag_indices(k)] += 1e-14 * float(mat.diagonal().max())
            chol, info = _potrf(mat, lower=0, clean=0, overwrite_a=1)
            if info != 0:
                break

        got = direction(-comp, qc, s, rl, rb, chol, pi)
        if got is None:
            break
        dy, ds, dq = got
        a_aff = min(1.0, step(qc, dq), step(s, ds))
        mu_aff = float(((qc + a_aff * dq) * (s + a_aff * ds)).sum()) / nc
        sigma = min(1.0, (mu_aff / mu) ** 3)
        got = direction(sigma * mu - comp - dq * ds, qc, s, rl, rb, chol, pi)
        if got is None:
            break
        dy, ds, dq = got
        # fraction to the boundary only where the boundary blocks a full step: unblocked full
        # steps keep the quadratic convergence of the last iterations
        alpha = min(1.0, _PD_ETA * min(step(qc, dq), step(s, ds)))
        if not np.isfinite(alpha) or alpha <= 1e-10:
            break
        y = y + alpha * dy
        s = s + alpha * ds
        qc = qc + alpha * dq
        pi, lse = softmax(y)
    got = _certify_dense(y, project(qc[:, None] * pi), act, cm, mask, p1, p2, tol)
    if got is not None:
        got[1]["newton_steps"] = it
    return got


def _certify_dense(
    y: np.ndarray, qcells: np.ndarray, act: np.ndarray, cm: np.ndarray, mask: np.ndarray,
    p1: np.ndarray, p2: np.ndarray, tol: float,
) -> tuple[np.ndarray, dict] | None:
    """:func:`_certify` from the dense solver's compressed multipliers and live cells."""
    n1, n2, ny = mask.shape
    yf = np.zeros((n1 + n2) * ny)
    yf[act] = y
    q = np.zeros((n1 * n2, ny))
    q[cm] = qcells
    return _certify(
        yf[: n1 * ny].reshape(n1, ny), yf[n1 * ny :].reshape(n2, ny), q.reshape(n1, n2, ny),
        mask, p1, p2, tol,
    )


def _full_solver(u: np.ndarray, kap: np.ndarray, act1: np.ndarray, act2: np.ndarray):
    """Cholesky of the whole active ``A Hinv A^T`` from its cell blocks; returns a solve function.

    ``Hinv`` has cell blocks ``diag(u) + kap u u^T``. Assembling the full matrix costs
    ``n1 n2 ny^2`` plus one dense factorisation, and solving it whole stays accurate where
    eliminating the ``(x1, y)`` blocks first loses digits.
    """
    n1, n2, ny = u.shape
    ku = kap[..., None] * u
    idx = np.arange(ny)
    n1y = n1 * ny
    full = np.zeros((n1y + n2 * ny, n1y + n2 * ny))
    # Only the upper triangle is read by the factorisation: the (x1, y) blocks, the (x2, y)
    # blocks and the coupling block above them.
    v11 = full[:n1y, :n1y].reshape(n1, ny, n1, ny)
    v22 = full[n1y:, n1y:].reshape(n2, ny, n2, ny)
    a1 = np.arange(n1)
    a2 = np.arange(n2)
    s11 = np.einsum("abi,abj->aij", ku, u)
    s11[:, idx, idx] += u.sum(axis=1)
    v11[a1, :, a1, :] = s11
    s22 = np.einsum("abi,abj->bij", ku, u)
    s22[:, idx, idx] += u.sum(axis=0)
    v22[a2, :, a2, :] = s22
    v12 = full[:n1y, n1y:].reshape(n1, ny, n2, ny)
    v12[...] = ku.transpose(0, 2, 1)[..., None] * u[:, None, :, :]
    v12[:, idx, :, idx] += u.transpose(2, 0, 1)
    act = np.concatenate([act1.ravel(), act2.ravel()])
    # Cholesky is insensitive to symmetric diagonal scaling (van der Sluis), so none is applied.
    mat = full[np.ix_(act, act)] if not act.all() else full
    cho = linalg.cho_factor(mat, lower=False, check_finite=False, overwrite_a=True)
    yfull = np.zeros(act.size)

    def solve(r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rhs = np.concatenate([r1.ravel(), r2.ravel()])[act]
        yfull[act] = linalg.cho_solve(cho, rhs, check_finite=False)
        if not np.isfinite(yfull).all():
            raise EstimationError("the BROJA Newton system became singular")
        return yfull[:n1y].reshape(n1, ny).copy(), yfull[n1y:].reshape(n2, ny).copy()

    return solve
