"""Primal-dual interior-point method on the BROJA dual, with the system assembled from blocks.

The same Mehrotra predictor-corrector iteration as :mod:`.pd_dense` (unknowns: multipliers
``lam (n1, ny)`` and ``mu (n2, ny)``, cell slacks ``s_c`` and cell masses ``q_c``), for
alphabets where the dense constraint matrix would be too large: the ``k x k`` system is
written directly from the ``ny x ny`` cell blocks into the ``(x1, y)``, ``(x2, y)`` and
coupling blocks of one dense matrix, and factorised once per step. Solving it whole stays
accurate where eliminating the ``(x1, y)`` blocks first loses digits.
"""

from __future__ import annotations

import numpy as np

from infofusion.measures.pid.solver.certificate import Certifier, Fiber
from infofusion.measures.pid.solver.linalg import Factor

ETA = 0.995  # fraction to the boundary
S0 = 0.01  # initial complementarity, relative to the feasible start's
CERT = 0.5  # certify once nc * mu <= CERT * tol
MAX_HALVINGS = 30
RESID_FLOOR = 1e-10  # residuals below this never force a shorter step
GROWTH = 2.0  # a step may at most double the residuals


def assemble(u: np.ndarray, kap: np.ndarray, act: np.ndarray) -> np.ndarray:
    """The active part of ``A Hinv A^T`` from cell blocks ``diag(u_c) + kap_c u_c u_c^T``.

    Args:
        u: ``(n1, n2, ny)``; kap: ``(n1, n2)``; act: ``((n1 + n2) * ny,)`` active rows.

    Returns:
        The full symmetric ``(k, k)`` matrix over the active rows.
    """
    n1, n2, ny = u.shape
    ku = kap[..., None] * u
    idx = np.arange(ny)
    n1y = n1 * ny
    full = np.zeros((n1y + n2 * ny, n1y + n2 * ny))
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
    full[n1y:, :n1y] = full[:n1y, n1y:].T
    return full[np.ix_(act, act)] if not act.all() else full


def solve(
    fiber: Fiber, cert: Certifier, max_iter: int, progress=None, start: str = "centred"
) -> tuple[int, str]:
    """Run the method, offering iterates to ``cert``; returns (Newton steps, how it ended).

    ``start``: ``"centred"`` (fast on most inputs) or ``"feasible"`` (slower, more robust on
    degenerate and badly scaled ones); see :func:`~.pd_blocks.start_slacks`.
    """
    n1, n2, ny = fiber.shape
    p1, p2, py, mask = fiber.p1, fiber.p2, fiber.py, fiber.mask
    full = bool(mask.all())
    cm = fiber.cells
    cmf = cm.astype(np.float64)
    nc = int(cm.sum())
    neg = np.where(mask | ~cm[..., None], 0.0, -np.inf)  # inadmissible y inside live cells
    act1, act2, first = fiber.act1, fiber.act2, fiber.first
    act = np.concatenate([act1.ravel(), act2.ravel()])
    a1f = act1.astype(np.float64)
    a2f = act2.astype(np.float64)
    tol = cert.tol
    with np.errstate(divide="ignore"):
        l1 = np.where(act1, np.log(p1) - np.log(py)[None, :], 0.0)
        l2 = np.where(p2 > 0, np.log(p2), 0.0)
    ref = l2[first, np.arange(ny)]
    lam = np.where(act1, l1 + ref[None, :], 0.0)  # softmax(lam + mu) = product distribution
    mu_ = np.where(act2, l2 - ref[None, :], 0.0)
    n1y = n1 * ny

    def softmax(lam: np.ndarray, mu_: np.ndarray):
        z = lam[:, None, :] + mu_[None, :, :]
        if not full:
            z = z + neg
        zm = z.max(axis=2)
        e = np.exp(z - zm[..., None])
        se = e.sum(axis=2)
        pi_, lse_ = e / se[..., None], zm + np.log(se)
        if not full:
            pi_ = pi_ * cmf[..., None]
            lse_ = np.where(cm, lse_, -1.0)
        return pi_, lse_

    pi, lse = softmax(lam, mu_)
    qc = fiber.product().sum(axis=2) * cmf
    s = start_slacks(qc, lse, cm, start)
    if not full:
        qc = np.where(cm, np.maximum(qc, 1e-300), 0.0)

    def direction(rc, rl, rb1, rb2, fac):
        wc = np.where(cm, (rc + qc * rl) / s, 0.0)
        wpi = wc[..., None] * pi
        rhs = np.concatenate([(rb1 - wpi.sum(axis=1)).ravel(), (rb2 - wpi.sum(axis=0)).ravel()])
        sol = fac.solve(rhs[act])
        if sol is None:
            return None
        yfull = np.zeros(act.size)
        yfull[act] = sol
        d1 = yfull[:n1y].reshape(n1, ny)
        d2 = yfull[n1y:].reshape(n2, ny)
        gdy = ((d1[:, None, :] + d2[None, :, :]) * pi).sum(axis=2)  # grad L_c . dy
        ds = (-rl - gdy) * cmf
        dq = np.where(cm, (rc - qc * ds) / s, 0.0)
        return d1, d2, ds, dq

    def step(x: np.ndarray, dx: np.ndarray) -> float:
        r = float((dx / x).min())  # x > 0 (1 off the live cells, where dx = 0)
        return np.inf if r >= 0.0 else -1.0 / r

    def offer() -> None:
        cert.offer_primal(qc[..., None] * pi, "pd_blocks")
        cert.offer_dual(lam, mu_, "pd_blocks")

    def residuals(lam, mu_, s, qc):
        pi, lse = softmax(lam, mu_)
        qpi = qc[..., None] * pi
        rb1 = (p1 - qpi.sum(axis=1)) * a1f
        rb2 = (p2 - qpi.sum(axis=0)) * a2f
        rl = (lse + s) * cmf
        rho = float(max(np.abs(rb1).max(), np.abs(rb2).max()) + np.abs(rl).max())
        return pi, lse, qpi, rb1, rb2, rl, rho

    def take_step(fac, comp, mu):
        """Mehrotra predictor-corrector step, shortened until the residuals stay bounded."""
        got = direction(-comp, rl, rb1, rb2, fac)
        if got is None:
            return None
        d1, d2, ds, dq = got
        a_aff = min(1.0, step(qc + (1.0 - cmf), dq), step(s, ds))
        mu_aff = float(((qc + a_aff * dq) * (s + a_aff * ds)).sum()) / nc
        sigma = min(1.0, (mu_aff / mu) ** 3)
        got = direction((sigma * mu - comp - dq * ds) * cmf, rl, rb1, rb2, fac)
        if got is None:
            return None
        d1, d2, ds, dq = got
        alpha = min(1.0, ETA * min(step(qc + (1.0 - cmf), dq), step(s, ds)))
        for _ in range(MAX_HALVINGS):
            if not np.isfinite(alpha) or alpha <= 1e-10:
                return None
            trial = residuals(lam + alpha * d1, mu_ + alpha * d2, s + alpha * ds, qc + alpha * dq)
            if trial[6] <= GROWTH * max(rho, RESID_FLOOR):
                return alpha, d1, d2, ds, dq, trial
            alpha *= 0.5
        return None

    pi, lse, qpi, rb1, rb2, rl, rho = residuals(lam, mu_, s, qc)
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
        kap = np.where(cm, (1.0 / s - 1.0) / np.where(cm, qc, 1.0), 0.0)
        mat = assemble(qpi, kap, act)
        fac = Factor(mat)
        got = take_step(fac, comp, mu) if fac.ok else None
        if got is None:
            end = "no_progress"
            break
        alpha, d1, d2, ds, dq, trial = got
        lam = lam + alpha * d1
        mu_ = mu_ + alpha * d2
        s = s + alpha * ds
        qc = qc + alpha * dq
        pi, lse, qpi, rb1, rb2, rl, rho = trial
    if np.isfinite(lam).all() and np.isfinite(mu_).all() and np.isfinite(qc).all():
        offer()
    return it, "optimal" if cert.done else end


def start_slacks(qc: np.ndarray, lse: np.ndarray, live: np.ndarray, start: str) -> np.ndarray:
    """Initial slacks of the live cells (1 elsewhere).

    ``"centred"``: ``q_c s_c`` equal, at 1/100 of the feasible start's mean complementarity,
    capped at the slack ``-L_c`` that makes the start dual feasible (cells of tiny mass would
    otherwise start far from ``L_c + s_c = 0``); about a dozen steps on most inputs.
    ``"feasible"``: ``s_c = -L_c`` (floored at 1e-3 of its mean), so ``L_c + s_c = 0`` from the
    start; slower, but steadier on degenerate and badly scaled inputs.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        neg = -lse
        if start == "feasible":
            return np.where(live, np.maximum(neg, 1e-3 * float(neg[live].mean())), 1.0)
        centred = S0 * float((qc * neg)[live].mean()) / np.where(live, qc, 1.0)
        return np.where(live, np.minimum(centred, np.maximum(neg, 1e-300)), 1.0)
