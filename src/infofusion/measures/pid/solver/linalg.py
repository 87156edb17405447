"""Cholesky factorisation that survives the near-singular systems of degenerate optima."""

from __future__ import annotations

import numpy as np

from infofusion.measures.pid.solver.certificate import _potrf, _potrs


class Factor:
    """Cholesky factor of a symmetric matrix that is positive definite in exact arithmetic.

    Tries the matrix as it is (raw LAPACK: at small sizes the wrappers' checks cost more than
    the factorisation). When rounding makes it indefinite -- near a degenerate optimum, e.g.
    ``X1 == X2``, where whole cells vanish and the system becomes singular in the limit -- the
    Jacobi-scaled matrix is factorised with a growing relative diagonal shift, and each solve
    is refined against the unshifted matrix. ``ok`` is False when nothing worked.

    Args:
        mat: ``(k, k)`` full symmetric matrix (not modified).
    """

    def __init__(self, mat: np.ndarray, prox: float = 0.0) -> None:
        self.mat = mat
        self.scale: np.ndarray | None = None
        self.shift = 0.0
        self.prox = prox
        if not prox:
            chol, info = _potrf(mat, lower=0, clean=0, overwrite_a=0)
            self.ok = info == 0
            if self.ok:
                self.chol = chol
                return
        self.ok = False
        d = mat.diagonal()
        if not (np.isfinite(mat).all() and (d > 0).all()):
            return
        if prox:
            # proximal term relative to the largest diagonal entry (absolute in the units of
            # the multipliers), so nearly decoupled rows of tiny mass are damped too
            shifted = mat.copy()
            shifted[np.diag_indices_from(shifted)] += prox * float(d.max())
            chol, info = _potrf(shifted, lower=0, clean=0, overwrite_a=1)
            if info == 0:
                self.chol, self.shift, self.ok = chol, prox, True
            return
        sc = 1.0 / np.sqrt(d)
        scaled = mat * sc[:, None] * sc[None, :]
        for rel in (1e-14, 1e-12, 1e-10, 1e-8, 1e-6):
            shifted = scaled.copy()
            shifted[np.diag_indices_from(shifted)] += rel
            chol, info = _potrf(shifted, lower=0, clean=0, overwrite_a=1)
            if info == 0:
                self.chol, self.scale, self.shift, self.ok = chol, sc, rel, True
                return

    def solve(self, rhs: np.ndarray, refine: int = 3) -> np.ndarray | None:
        """``mat^-1 rhs`` (``None`` on a LAPACK failure or a non-finite answer)."""
        if self.scale is None:  # plain, or proximal (solved as it is, not refined)
            x, info = _potrs(self.chol, rhs)
            return x if info == 0 and np.isfinite(x).all() else None
        sc = self.scale
        x = np.zeros_like(rhs)
        r = rhs
        for _ in range(refine + 1):
            dx, info = _potrs(self.chol, r * sc)
            if info != 0:
                return None
            x = x + dx * sc
            r = rhs - self.mat @ x
        return x if np.isfinite(x).all() else None
