"""``solve_broja``: validation, reduction, the chain of solver variants and the result."""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infofusion.errors import EstimationError, SolverAccuracyWarning
from infofusion.measures.pid._info import check_joint
from infofusion.measures.pid.solver import dual_barrier, pd_blocks, pd_dense, primal_barrier
from infofusion.measures.pid.solver.certificate import Certifier, make_fiber, reduce_tiny
from infofusion.measures.pid.solver.threads import blas_threads

#: a progress callback: ``progress(step, max_steps, message)``
ProgressFn = Callable[[int, int, str], None]

# Above this many independent constraints a solve takes seconds: progress is reported.
PROGRESS_K = 1500


@dataclass
class BrojaSolution:
    """Result of :func:`solve_broja` (values in nats).

    Attributes:
        q: ``(n1, n2, ny)`` optimal joint (a member of the fiber, up to ``feasibility``).
        value: ``f(q) = -H_q(Y | X1, X2)`` at the returned ``q``.
        dual_value: the certified lower bound of the optimum.
        gap: certified bound on ``value - optimum`` (``upper - dual_value``, where ``upper``
            adds the first-order effect of the remaining marginal violation to ``value``).
        feasibility: max absolute violation of the two marginal constraints by ``q``.
        newton_steps: total Newton steps over all variants tried.
        seconds: wall time.
        status: ``"optimal"`` (gap within ``tol``) or ``"inaccurate"`` (every variant was tried
            and the best certified gap is above ``tol``; a :class:`SolverAccuracyWarning` was
            issued).
        method: the variant that produced ``q`` (``"closed_form"`` when a bound was tight).
        extra: per-variant steps and endings, the reduced shape, the lower bound's source.
    """

    q: np.ndarray
    value: float
    dual_value: float
    gap: float
    feasibility: float
    newton_steps: int
    seconds: float
    status: str
    method: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def solve_broja(
    p: Any,
    tol: float = 1e-9,
    max_iter: int = 300,
    *,
    progress: ProgressFn | bool | None = None,
    warn: bool = True,
) -> BrojaSolution:
    """Minimise ``-H_Q(Y|X1,X2)`` over the BROJA fiber of ``p``, with a certified gap.

    Outcomes of zero probability (symbols of ``x1``, ``x2``, ``y``) are removed first, and so
    are the entries every member of the fiber must leave at zero. If the closed-form bounds
    already meet (e.g. ``X1 == X2``, ``X2 = g(X1)``, ``X1`` independent of ``Y``), no
    iteration runs. Otherwise the variants run in turn -- primal-dual on the dual (dense maps
    for small alphabets, block assembly for larger ones), a log-barrier method on the dual, a
    primal log-barrier method -- until the best primal point and the best dual bound found by
    any of them are within ``tol``.

    Args:
        p: ``(n1, n2, ny)`` joint distribution (non-negative, sums to one).
        tol: target certified gap in nats.
        max_iter: cap on the iterations of each variant.
        progress: ``progress(step, max_steps, message)`` after each Newton step; ``None``
            reports to stderr for problems large enough to take seconds; ``False``: silent.
        warn: issue a :class:`SolverAccuracyWarning` when the tolerance is not reached.

    Returns:
        :class:`BrojaSolution` with ``q`` in the original ``(n1, n2, ny)`` layout.

    Raises:
        EstimationError: invalid ``p`` (see :func:`~infofusion.measures.pid._info.check_joint`)
            or ``tol``.
    """
    start = time.perf_counter()
    p = check_joint(p)
    if isinstance(tol, bool) or not (isinstance(tol, int | float) and np.isfinite(tol) and tol > 0):
        raise EstimationError(f"tol must be a positive number of nats, got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise EstimationError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    p = p / p.sum()
    full_shape = p.shape
    keep = [p.sum(axis=ax) > 0 for ax in ((1, 2), (0, 2), (0, 1))]
    trimmed = not all(k.all() for k in keep)
    pr = p[np.ix_(*keep)] if trimmed else p
    swapped = pr.shape[1] > pr.shape[0]  # keep the dense Schur block on the smaller source
    if swapped:
        pr = pr.transpose(1, 0, 2)
    origin = make_fiber(pr)
    # Entries far below the rest (total mass within 1e-3 tol) are left out of the working
    # problem; every bound is still computed on the original one.
    reduced = reduce_tiny(pr, 1e-3 * tol)
    if reduced is None:
        work, embedding, fiber = pr, None, origin
    else:
        work, embedding = reduced
        fiber = make_fiber(work)
    cert = Certifier(fiber, tol, embedding)
    n1, n2, ny = work.shape
    k = fiber.k
    report = _progress(progress, k, pr.shape)
    runs: dict[str, Any] = {}
    steps = 0
    # Two members of the fiber are known: P itself and the product P(x1,y) P(x2,y) / P(y).
    cert.offer_primal(pr, "input", exact=True)
    cert.offer_primal(origin.product(), "product", exact=True)
    if not cert.done:
        small = k * k * work.size <= pd_dense.DENSE_WORK
        pd = pd_dense if small else pd_blocks
        variants = [(pd, {}), (pd, {"start": "feasible"})]
        variants += [(pd_blocks, {}), (dual_barrier, {})] if small else []
        variants.append((primal_barrier, {}))
        with blas_threads(k), np.errstate(all="ignore"):
            for variant, options in variants:
                name = variant.__name__.rsplit(".", 1)[-1] + "".join(f"/{v}" for v in options.values())
                try:
                    it, end = variant.solve(fiber, cert, max_iter, report, **options)
                except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
                    it, end = 0, f"error: {type(exc).__name__}"
                runs[name] = {"steps": it, "end": end, "gap": cert.gap}
                steps += it
                if cert.done:
                    break
    q = cert.q
    status = "optimal" if cert.done else "inaccurate"
    if swapped:
        q = q.transpose(1, 0, 2)
    if trimmed:
        q_full = np.zeros(full_shape)
        q_full[np.ix_(*keep)] = q
        q = q_full
    if status != "optimal" and warn:
        warnings.warn(
            SolverAccuracyWarning(
                f"BROJA solve of a {'x'.join(map(str, full_shape))} distribution reached a "
                f"certified gap of {cert.gap:.3g} nats, above tol = {tol:.3g} (every solver "
                f"variant tried: {', '.join(runs)}); atoms are within the gap"
            ),
            stacklevel=2,
        )
    return BrojaSolution(
        q=q, value=cert.value, dual_value=cert.lower, gap=cert.gap, feasibility=cert.feas,
        newton_steps=steps, seconds=time.perf_counter() - start, status=status,
        method=cert.primal_from,
        extra={
            "variants": runs, "reduced_shape": list(pr.shape), "working_shape": list(work.shape),
            "left_out_mass": 0.0 if embedding is None else float(embedding.removed.sum()),
            "lower_from": cert.dual_from, "swapped": swapped,
        },
    )


def _progress(progress: ProgressFn | bool | None, k: int, shape: tuple[int, ...]) -> ProgressFn | None:
    if progress is False:
        return None
    if callable(progress):
        return progress
    if k < PROGRESS_K:
        return None
    label = "x".join(map(str, shape))
    t0 = time.perf_counter()

    def to_stderr(step: int, total: int, message: str) -> None:
        sys.stderr.write(f"BROJA {label}: step {step} ({message}), {time.perf_counter() - t0:.1f} s\n")
        sys.stderr.flush()

    return to_stderr


__all__ = ["BrojaSolution", "solve_broja"]
