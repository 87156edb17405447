"""The BROJA fiber and the certificate every solver variant reports through.

The problem (nats): minimise ``f(Q) = -H_Q(Y | X1, X2)`` over the fiber
``{Q >= 0 : Q(x1, y) = P(x1, y), Q(x2, y) = P(x2, y)}``. Its Lagrange dual is

.. math::

    \\max_{\\lambda, \\mu} \\sum \\lambda(x_1, y) P(x_1, y) + \\sum \\mu(x_2, y) P(x_2, y)
    \\quad \\text{s.t.} \\quad L_c = \\log \\sum_y e^{\\lambda(x_1, y) + \\mu(x_2, y)} \\le 0
    \\;\\; \\forall c = (x_1, x_2)

(the sum over the ``y`` admissible in cell ``c``). Any feasible ``Q`` gives an upper bound
``f(Q)`` and any multipliers, shifted until every ``L_c <= 0``, a lower bound of the optimum.
:class:`Certifier` keeps the best of each across every iterate of every variant, so the gap
it reports is always a proven bound on the error of the returned value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

_potrf, _potrs = linalg.get_lapack_funcs(("potrf", "potrs"), (np.zeros(1),))

@dataclass
class Fiber:
    """One BROJA problem after trimming, with what every variant needs.

    Attributes:
        p: ``(n1, n2, ny)`` joint; every symbol of ``x1``, ``x2`` and ``y`` has mass.
        p1, p2: ``(n1, ny)`` and ``(n2, ny)`` marginals fixed on the fiber.
        py: ``(ny,)`` target marginal.
        mask: ``(n1, n2, ny)`` admissible entries (``p1 > 0`` and ``p2 > 0``); elsewhere
            every member of the fiber is 0.
        cells: ``(n1, n2)`` cells with at least one admissible ``y``.
        act1, act2: independent constraint rows; one ``(x2, y)`` row per ``y`` is implied by
            the others and dropped.
        first: ``(ny,)`` the ``x2`` of the dropped row of each ``y``.
        lower: the closed-form lower bound ``-min(H(Y|X1), H(Y|X2))``.
    """

    p: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    py: np.ndarray
    mask: np.ndarray
    cells: np.ndarray
    act1: np.ndarray
    act2: np.ndarray
    first: np.ndarray
    lower: float

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.p.shape  # type: ignore[return-value]

    @property
    def k(self) -> int:
        """Number of independent marginal constraints."""
        return int(self.act1.sum() + self.act2.sum())

    def product(self) -> np.ndarray:
        """``P(x1, y) P(x2, y) / P(y)``: a member of the fiber (feasible start)."""
        return self.p1[:, None, :] * self.p2[None, :, :] / self.py[None, None, :]


def make_fiber(p: np.ndarray) -> Fiber:
    """The :class:`Fiber` of a joint whose every symbol has positive mass."""
    n1, n2, ny = p.shape
    p1 = p.sum(axis=1)
    p2 = p.sum(axis=0)
    py = p1.sum(axis=0)
    mask = (p1[:, None, :] > 0) & (p2[None, :, :] > 0)
    act1 = p1 > 0
    act2 = p2 > 0
    first = np.argmax(act2, axis=0)
    act2[first, np.arange(ny)] = False
    h1 = -objective(p1[:, None, :])  # H(Y|X1)
    h2 = -objective(p2[None, :, :])  # H(Y|X2)
    return Fiber(
        p=p, p1=p1, p2=p2, py=py, mask=mask, cells=mask.any(axis=2), act1=act1, act2=act2,
        first=first, lower=-min(h1, h2),
    )


def objective(q: np.ndarray) -> float:
    """``-H_q(Y|X1,X2)`` in nats for a non-negative ``(n1, n2, ny)`` array."""
    q12 = q.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log(q / np.where(q12 > 0, q12, 1.0)), 0.0)
    return float(terms.sum())


def dual_value(lam: np.ndarray, mu: np.ndarray, fiber: Fiber, tol: float = 0.0) -> float:
    """Dual objective at ``(lam (n1, ny), mu (n2, ny))`` after a feasibility shift: a certified
    lower bound of the optimum.

    Lowering all of ``lam(x1, .)`` by ``a(x1) >= 0`` and all of ``mu(x2, .)`` by ``b(x2) >= 0``
    lowers ``L_c`` by ``a(x1) + b(x2)`` and the objective by ``sum m1 a + sum m2 b`` (``m`` the
    source marginals). The cheaper of the two one-sided shifts is used; when it costs more
    than ``tol / 2``, the cheapest shift is found by a small linear program (scipy's HiGHS).
    """
    s = lam[:, None, :] + mu[None, :, :]
    s = np.where(fiber.mask, s, -np.inf)
    mx = s.max(axis=2)
    live = np.isfinite(mx)
    safe = np.where(live, mx, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lse = safe + np.log(np.exp(s - safe[..., None]).sum(axis=2))
    lse = np.where(live, lse, -np.inf)  # cells with no admissible y carry no constraint
    p1, p2 = fiber.p1, fiber.p2
    base = float((np.where(p1 > 0, lam, 0.0) * p1).sum() + (np.where(p2 > 0, mu, 0.0) * p2).sum())
    m1, m2 = p1.sum(axis=1), p2.sum(axis=1)
    shift1 = np.maximum(lse.max(axis=1), 0.0)
    shift2 = np.maximum(lse.max(axis=0), 0.0)
    cost = min(float((m1 * shift1).sum()), float((m2 * shift2).sum()))
    if cost > 0.5 * tol and np.isfinite(base):
        cost = min(cost, _cheapest_shift(lse, m1, m2))
    val = base - cost
    return val if np.isfinite(val) else -np.inf


def _cheapest_shift(lse: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> float:
    """``min sum m1 a + sum m2 b`` s.t. ``a(x1) + b(x2) >= L_c`` on violated cells, ``a, b >= 0``.

    The shifts are then raised by a relative 1e-12 so rounding cannot leave a cell violated.
    """
    from scipy.optimize import linprog

    bad = np.argwhere(lse > 0)
    if len(bad) == 0:
        return 0.0
    rows1 = np.unique(bad[:, 0])
    rows2 = np.unique(bad[:, 1])
    i1 = np.searchsorted(rows1, bad[:, 0])
    i2 = np.searchsorted(rows2, bad[:, 1]) + len(rows1)
    n = len(rows1) + len(rows2)
    a_ub = np.zeros((len(bad), n))
    a_ub[np.arange(len(bad)), i1] = -1.0
    a_ub[np.arange(len(bad)), i2] = -1.0
    cost = np.concatenate([m1[rows1], m2[rows2]])
    res = linprog(cost, A_ub=a_ub, b_ub=-lse[bad[:, 0], bad[:, 1]], bounds=(0, None), method="highs")
    if res.status != 0:
        return np.inf
    x = res.x * (1.0 + 1e-12) + 1e-300
    a = np.zeros(lse.shape[0])
    b = np.zeros(lse.shape[1])
    a[rows1] = x[: len(rows1)]
    b[rows2] = x[len(rows1) :]
    # verify, never trust the LP's own tolerance
    slack = lse - a[:, None] - b[None, :]
    if (slack[np.isfinite(slack)] > 0).any():
        need = float(slack[np.isfinite(slack)].max())
        a += need  # lift every row by the largest remaining violation
    return float((m1 * a).sum() + (m2 * b).sum())


def restore(q: np.ndarray, fiber: Fiber, max_iter: int = 30) -> np.ndarray:
    """The member of the fiber closest to ``q`` in Kullback-Leibler divergence, by Newton.

    Interior-point iterates violate the marginals by rounding-sized amounts, and proportional
    fitting (which solves the same problem) converges slowly where entries must nearly vanish.
    For each ``y`` the answer is ``q(x1, x2, y) exp(u(x1) + v(x2))``, a matrix scaling; Newton's
    method on the convex dual ``sum q e^(u + v) - P1 u - P2 v`` (Schur complement on ``u``,
    one ``v`` per ``y`` pinned for the gauge, backtracking per ``y``) converges quadratically,
    and the support of ``q`` is kept.

    Args:
        q: ``(n1, n2, ny)`` non-negative, zero outside ``fiber.mask``.

    Returns:
        ``(n1, n2, ny)`` array whose marginals match to rounding (unless the support of ``q``
        cannot carry them, in which case the residual shrinks as far as Newton gets).
    """
    r = fiber.p1.T  # (ny, n1)
    c = fiber.p2.T  # (ny, n2)
    base = np.where(fiber.mask, np.maximum(q, 0.0), 0.0).transpose(2, 0, 1).copy()  # (ny, n1, n2)
    ny, n1, n2 = base.shape
    u = np.zeros((ny, n1))
    v = np.zeros((ny, n2))
    pin = fiber.first
    rows = np.arange(ny)
    live1 = r > 0
    live2 = c > 0

    def scaled(uu: np.ndarray, vv: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return base * np.exp(uu[:, :, None] + vv[:, None, :])

    def phi(qs: np.ndarray, uu: np.ndarray, vv: np.ndarray) -> np.ndarray:
        return qs.sum(axis=(1, 2)) - (r * uu).sum(axis=1) - (c * vv).sum(axis=1)

    qs = scaled(u, v)
    cur = phi(qs, u, v)
    floor = 4.0 * np.finfo(float).eps * max(float(r.max()), float(c.max()))
    last = np.inf
    for _ in range(max_iter):
        s1 = qs.sum(axis=2)
        s2 = qs.sum(axis=1)
        g1 = np.where(live1, s1 - r, 0.0)
        g2 = np.where(live2, s2 - c, 0.0)
        g2[rows, pin] = 0.0
        err = max(float(np.abs(g1).max()), float(np.abs(g2).max()))
        # done at rounding level, or when Newton no longer halves the residual
        if err <= floor or not np.isfinite(err) or err > 0.5 * last:
            break
        last = err
        d1 = np.where(live1 & (s1 > 0), s1, 1.0)
        # Schur complement on u: S = D2 - Q^T D1^-1 Q, rhs = -g2 + Q^T D1^-1 g1
        qd = qs / d1[:, :, None]
        schur = -np.einsum("yij,yik->yjk", qd, qs)
        schur[:, np.arange(n2), np.arange(n2)] += np.where(live2 & (s2 > 0), s2, 1.0)
        rhs = -g2 + np.einsum("yij,yi->yj", qd, g1)
        schur[rows, pin, :] = 0.0
        schur[rows, :, pin] = 0.0
        schur[rows, pin, pin] = 1.0
        rhs[rows, pin] = 0.0
        try:
            dv = np.linalg.solve(schur, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        du = (-g1 - np.einsum("yij,yj->yi", qs, dv)) / d1
        du = np.where(live1, du, 0.0)
        dv = np.where(live2, dv, 0.0)
        if not (np.isfinite(du).all() and np.isfinite(dv).all()):
            break
        slope = (g1 * du).sum(axis=1) + (g2 * dv).sum(axis=1)
        step = np.ones(ny)
        for _ in range(30):
            un = u + step[:, None] * du
            vn = v + step[:, None] * dv
            qn = scaled(un, vn)
            new = phi(qn, un, vn)
            ok = np.isfinite(new) & (new <= cur + 1e-4 * step * slope + 1e-15 * np.abs(cur))
            if ok.all():
                break
            step = np.where(ok, step, 0.5 * step)
        else:
            ok = np.isfinite(new) & (new <= cur)
            step = np.where(ok, step, 0.0)
        if not (step > 0).any():
            break
        u = u + step[:, None] * du
        v = v + step[:, None] * dv
        qs = scaled(u, v)
        cur = phi(qs, u, v)
    return qs.transpose(1, 2, 0)


def infeasibility(q: np.ndarray, fiber: Fiber) -> float:
    """Largest absolute violation of the two marginal constraints."""
    return float(
        max(np.abs(q.sum(axis=1) - fiber.p1).max(), np.abs(q.sum(axis=0) - fiber.p2).max())
    )


def _infeasibility_cost(q: np.ndarray, fiber: Fiber) -> float:
    """First-order effect of the remaining marginal violation on ``f`` (added to the gap).

    Restoring the marginals moves at most the total absolute residual of mass, and ``f``
    changes by at most ``1 + max |log q(y | c)|`` per unit of mass moved (its gradient).
    """
    resid = float(
        np.abs(q.sum(axis=1) - fiber.p1).sum() + np.abs(q.sum(axis=0) - fiber.p2).sum()
    )
    if resid == 0.0:
        return 0.0
    q12 = q.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        logc = np.where(q > 0, np.log(q / np.where(q12 > 0, q12, 1.0)), 0.0)
    return resid * (1.0 + float(np.abs(logc).max()))


@dataclass
class Embedding:
    """How a working problem sits inside the original one (see :func:`reduce_tiny`).

    Attributes:
        origin: the original fiber, on which every bound is computed.
        keep: the kept symbols of ``x1``, ``x2``, ``y`` (boolean masks over the original).
        scale: mass of the working problem inside the original (``1 - removed``).
        removed: ``(n1, n2, ny)`` original entries left out of the working problem.
    """

    origin: Fiber
    keep: tuple[np.ndarray, np.ndarray, np.ndarray]
    scale: float
    removed: np.ndarray

    def primal(self, q: np.ndarray) -> np.ndarray:
        """A working-problem member mapped to a member of the original fiber."""
        out = self.removed.copy()
        out[np.ix_(*self.keep)] += self.scale * q
        return out

    def dual(self, lam: np.ndarray, mu: np.ndarray, work: Fiber) -> tuple[np.ndarray, np.ndarray]:
        """Working multipliers extended to the original rows.

        Rows absent from the working problem get multipliers low enough (``e^-40`` below every
        partner) that the cell constraints they enter stay satisfied; their contribution to
        the dual objective is their tiny mass times that value, computed, not assumed.
        """
        o = self.origin
        k1, k2, ky = self.keep
        n1, n2, ny = o.shape
        mu_o = np.full((n2, ny), np.nan)
        lam_o = np.full((n1, ny), np.nan)
        sub1 = np.full((k1.sum(), ny), np.nan)
        sub1[:, ky] = np.where(work.p1 > 0, lam, np.nan)  # rows without mass: no information
        sub2 = np.full((k2.sum(), ny), np.nan)
        sub2[:, ky] = np.where(work.p2 > 0, mu, np.nan)
        lam_o[k1] = sub1
        mu_o[k2] = sub2
        lam_o = np.where(o.p1 > 0, lam_o, 0.0)  # rows without mass in the original: irrelevant
        mu_o = np.where(o.p2 > 0, mu_o, 0.0)
        top_lam = np.nanmax(np.where(np.isnan(lam_o), -np.inf, lam_o), axis=0)
        top_lam = np.where(np.isfinite(top_lam), top_lam, 0.0)
        mu_o = np.where(np.isnan(mu_o), -top_lam[None, :] - 40.0, mu_o)
        lam_o = np.where(np.isnan(lam_o), -mu_o.max(axis=0)[None, :] - 40.0, lam_o)
        return lam_o, mu_o


def reduce_tiny(p: np.ndarray, budget: float) -> tuple[np.ndarray, Embedding] | None:
    """Leave out the smallest entries of ``p`` while their total mass stays within ``budget``.

    Entries many orders of magnitude below the rest (e.g. 1e-300 next to 1e-1) make every
    Newton system hopelessly scaled while changing no atom by more than their mass times a
    logarithm. The working problem is the rest, renormalised and trimmed of symbols that lose
    all their mass; its answers are mapped back (:class:`Embedding`) and certified on the
    original fiber, so the reported gap stays a bound for the original problem.

    Returns:
        ``(working joint, embedding)``, or ``None`` when nothing is small enough to leave out.
    """
    flat = np.sort(p[p > 0])
    cum = np.cumsum(flat)
    n_drop = int(np.searchsorted(cum, budget, side="right"))
    if n_drop == 0:
        return None
    cut = flat[n_drop - 1]
    small = (p > 0) & (p <= cut)
    removed = np.where(small, p, 0.0)
    rest = p - removed
    scale = float(rest.sum())
    keep = tuple(rest.sum(axis=ax) > 0 for ax in ((1, 2), (0, 2), (0, 1)))
    work = rest[np.ix_(*keep)] / scale
    return work, Embedding(make_fiber(p), keep, scale, removed)  # type: ignore[arg-type]


class Certifier:
    """Best primal point and best dual bound seen so far, across all variants.

    ``upper`` is ``f`` at the best restored feasible point plus the effect of its remaining
    marginal violation (:func:`_infeasibility_cost`); ``lower`` is the best dual value
    (starting from the closed-form bound of the fiber). ``gap = upper - lower >= 0`` bounds the
    error of the returned value. With an :class:`Embedding`, variants work on ``fiber`` (the
    working problem) while every bound is computed on the original problem.
    """

    def __init__(self, fiber: Fiber, tol: float, embedding: Embedding | None = None) -> None:
        self.fiber = fiber
        self.embedding = embedding
        self.target = fiber if embedding is None else embedding.origin
        self.tol = tol
        self.q: np.ndarray | None = None
        self.value = np.inf  # f(q) of the kept point
        self.upper = np.inf  # value + infeasibility cost
        self.feas = np.inf
        self.lower = self.target.lower
        self.primal_from = ""
        self.dual_from = "bound"

    @property
    def gap(self) -> float:
        return max(self.upper - self.lower, 0.0)

    @property
    def done(self) -> bool:
        return self.upper - self.lower <= self.tol

    def offer_primal(self, q: np.ndarray, source: str, exact: bool = False) -> float:
        """Restore ``q``'s marginals, evaluate it on the original problem and keep it if it is
        the best; returns its upper bound. ``exact``: ``q`` is a member of the original fiber
        by construction (the input itself, or the product of its marginals)."""
        if not exact:
            q = restore(q, self.fiber)
            if self.embedding is not None:
                q = restore(self.embedding.primal(q), self.target)
        if not np.isfinite(q).all():
            return np.inf
        value = objective(q)
        if exact:
            feas, upper = 0.0, value
        else:
            feas = infeasibility(q, self.target)
            upper = value + _infeasibility_cost(q, self.target)
        if np.isfinite(upper) and upper < self.upper:
            self.q, self.value, self.upper, self.feas = q, value, upper, feas
            self.primal_from = source
        return upper

    def offer_dual(self, lam: np.ndarray, mu: np.ndarray, source: str) -> float:
        """Evaluate the shifted dual at ``(lam, mu)`` (working-problem multipliers) on the
        original problem and keep it if it is the best."""
        if not (np.isfinite(lam).all() and np.isfinite(mu).all()):
            return -np.inf
        if self.embedding is not None:
            lam, mu = self.embedding.dual(lam, mu, self.fiber)
        val = dual_value(lam, mu, self.target, self.tol)
        if val > self.lower:
            self.lower, self.dual_from = val, source
        return val
