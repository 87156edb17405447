"""The brute-force max-norm neighbour search as one compiled loop per row (numba; optional).

The same algorithm and the same exactness argument as :mod:`infofusion.measures.mi._brute`,
fused: for each row the per-space distances to all points are formed in row buffers that stay
in the first-level cache, the joint distance is their maximum, the k-th neighbour is selected
from them and the radius counts are read off the same buffers, with no ``(block, N)`` matrix in
memory between the passes. Distances run in float32 (or float64 for data with extreme
outliers, see :func:`infofusion.measures.mi._brute.choose_precision`); every decision float32
could get wrong is settled in float64:

* candidates of the k-th neighbour: the points whose float32 joint distance is within
  ``2 delta`` of the float32 (k+1)-th smallest (the point itself is the first); their float64
  distances give the exact k-th neighbour distance ``e`` (every point at float64 distance
  ``<= e`` is a candidate, since float32 and float64 distances differ by at most ``delta``);
* counts: float32 distance ``< e - delta`` counts, ``>= e + delta`` does not, the points in
  between are compared in float64.

The result equals the float64 KD-tree answer. Rows are split into chunks that worker threads
run concurrently (the compiled loop releases the GIL), so no numba threading layer is involved:
the search is safe to call from several threads and in forked processes.

numba is optional (the ``fast`` extra): this module is imported only when it is installed (see
:func:`infofusion.measures.mi._brute.compiled_available`), else the torch search runs. The first call in a fresh environment compiles the loop (a few seconds); the
machine code is cached next to this file (or in numba's cache directory) for later processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

#: columns per group of the candidate pre-selection: the (k+1)-th smallest of the minima of
#: about ``N // GROUP`` strided column groups bounds the (k+1)-th smallest distance from above.
GROUP = 64
#: rows per chunk handed to one worker thread.
CHUNK = 256


def _jit(**options):
    """``numba.njit`` with the machine code cached on disk where a cache directory is writable."""

    def wrap(fn):
        try:
            return numba.njit(cache=True, **options)(fn)
        except RuntimeError:  # no writable cache location: compile in every process
            return numba.njit(cache=False, **options)(fn)

    return wrap


@_jit(nogil=True)
def _select(a: np.ndarray, m: int, k: int) -> float:
    """The k-th smallest (0-based) of ``a[:m]``, by quickselect in place (reorders ``a[:m]``)."""
    lo, hi = 0, m - 1
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


@_jit(nogil=True, boundscheck=False)
def _rows(
    lo: int,
    hi: int,
    cols: np.ndarray,
    bounds: np.ndarray,
    sets: np.ndarray,
    exact: np.ndarray,
    k: int,
    delta: float,
    eps: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Rows ``lo:hi``: ``eps[i]`` and ``counts[s, i]`` (see :func:`compiled_neighbours`)."""
    n_dim, n = cols.shape
    n_atoms = bounds.shape[0] - 1
    n_sets = sets.shape[0]
    buf = np.empty((n_atoms, n), dtype=cols.dtype)
    joint = np.empty(n, dtype=cols.dtype)
    space = np.empty(n, dtype=cols.dtype)
    # column groups of the candidate pre-selection: at least k + 1 of them (each bounds one
    # neighbour), about GROUP columns each where N allows
    ng = max(n // GROUP, min(4 * (k + 1), n // 2), k + 1)
    per = n // ng
    gmin = np.empty(ng, dtype=cols.dtype)
    cand = np.empty(n, dtype=np.int64)
    cval = np.empty(n, dtype=np.float64)
    ex = np.empty(n, dtype=np.float64)
    scratch = np.empty(n, dtype=np.float64)
    thr = np.empty(2, dtype=cols.dtype)  # thresholds rounded to the narrow type
    for i in range(lo, hi):
        # per-space max-norm distances to every point (up to eight coordinates per sweep over
        # the row buffer), then their maximum
        for a in range(n_atoms):
            row = buf[a]
            row[:] = 0
            d = bounds[a]
            end = bounds[a + 1]
            while d + 8 <= end:
                s0, s1, s2, s3 = cols[d], cols[d + 1], cols[d + 2], cols[d + 3]
                s4, s5, s6, s7 = cols[d + 4], cols[d + 5], cols[d + 6], cols[d + 7]
                c0, c1, c2, c3 = cols[d, i], cols[d + 1, i], cols[d + 2, i], cols[d + 3, i]
                c4, c5, c6, c7 = cols[d + 4, i], cols[d + 5, i], cols[d + 6, i], cols[d + 7, i]
                for j in range(n):
                    row[j] = max(
                        max(
                            max(row[j], abs(s0[j] - c0)),
                            max(max(abs(s1[j] - c1), abs(s2[j] - c2)), abs(s3[j] - c3)),
                        ),
                        max(
                            max(abs(s4[j] - c4), abs(s5[j] - c5)),
                            max(abs(s6[j] - c6), abs(s7[j] - c7)),
                        ),
                    )
                d += 8
            while d + 4 <= end:
                s0, s1, s2, s3 = cols[d], cols[d + 1], cols[d + 2], cols[d + 3]
                c0, c1, c2, c3 = cols[d, i], cols[d + 1, i], cols[d + 2, i], cols[d + 3, i]
                for j in range(n):
                    row[j] = max(
                        max(row[j], abs(s0[j] - c0)),
                        max(max(abs(s1[j] - c1), abs(s2[j] - c2)), abs(s3[j] - c3)),
                    )
                d += 4
            while d + 2 <= end:
                s0, s1 = cols[d], cols[d + 1]
                c0, c1 = cols[d, i], cols[d + 1, i]
                for j in range(n):
                    row[j] = max(row[j], max(abs(s0[j] - c0), abs(s1[j] - c1)))
                d += 2
            if d < end:
                s0 = cols[d]
                c0 = cols[d, i]
                for j in range(n):
                    row[j] = max(row[j], abs(s0[j] - c0))
        if n_atoms == 1:
            joint[:] = buf[0]
        else:
            r0, r1 = buf[0], buf[1]
            for j in range(n):
                joint[j] = max(r0[j], r1[j])
            for a in range(2, n_atoms):
                row = buf[a]
                for j in range(n):
                    joint[j] = max(joint[j], row[j])
        # an upper bound of the (k+1)-th smallest joint distance: the (k+1)-th smallest of the
        # minima of the column groups {g, g + ng, g + 2 ng, ...}; only groups whose minimum is
        # within the bound (plus 2 delta) can hold candidates, and the columns after the last
        # full group are always candidates
        nc = 0
        if per > 1:
            gmin[:ng] = joint[:ng]
            for s in range(1, per):
                off = s * ng
                for g in range(ng):
                    v = joint[off + g]
                    if v < gmin[g]:
                        gmin[g] = v
            for g in range(ng):
                scratch[g] = gmin[g]
            limit = _select(scratch, ng, k) + 2.0 * delta
            for g in range(ng):
                if gmin[g] <= limit:
                    for s in range(per):
                        j = g + s * ng
                        if joint[j] <= limit:
                            cand[nc] = j
                            nc += 1
            for j in range(per * ng, n):
                cand[nc] = j
                nc += 1
        else:
            for j in range(n):
                cand[nc] = j
                nc += 1
        for t in range(nc):
            cval[t] = joint[cand[t]]
            scratch[t] = cval[t]
        kth_narrow = _select(scratch, nc, k)
        # float64 distances of the points that can be among the k + 1 nearest
        keep = kth_narrow + 2.0 * delta
        ne = 0
        for t in range(nc):
            if cval[t] <= keep:
                j = cand[t]
                m = 0.0
                for d in range(n_dim):
                    m = max(m, abs(exact[i, d] - exact[j, d]))
                ex[ne] = m
                cand[ne] = j
                ne += 1
        for t in range(ne):
            scratch[t] = ex[t]
        e = _select(scratch, ne, k)
        eps[i] = e
        kth = -1
        for t in range(ne):
            if ex[t] == e:
                kth = cand[t]
                break
        thr[0] = e - delta
        thr[1] = e + delta
        lo_t = thr[0]
        hi_t = thr[1]
        for s in range(n_sets):
            # the space of this count set: one atom's buffer, or the maximum of several
            first = -1
            many = False
            for a in range(n_atoms):
                if sets[s, a]:
                    if first < 0:
                        first = a
                    else:
                        many = True
            if many:
                space[:] = buf[first]
                for a in range(first + 1, n_atoms):
                    if sets[s, a]:
                        row = buf[a]
                        for j in range(n):
                            space[j] = max(space[j], row[j])
                sp = space
            else:
                sp = buf[first]
            below = 0
            under = 0
            for j in range(n):
                below += sp[j] < lo_t
                under += sp[j] < hi_t
            band = under - below
            if band > 0:
                if band == 1 and sp[kth] >= lo_t and sp[kth] < hi_t:
                    todo = 1
                else:
                    todo = n
                for t in range(todo):
                    j = kth if todo == 1 else t
                    if sp[j] >= lo_t and sp[j] < hi_t:
                        m = 0.0
                        for a in range(n_atoms):
                            if sets[s, a]:
                                for d in range(bounds[a], bounds[a + 1]):
                                    m = max(m, abs(exact[i, d] - exact[j, d]))
                        below += m < e
            counts[s, i] = below


def compiled_neighbours(
    atoms: Sequence[np.ndarray],
    k: int,
    count_sets: Sequence[Sequence[int]],
    precision: str,
    delta: float,
    threads: int,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """k-th neighbour distances and radius counts (algorithm 1), as ``brute_neighbours``.

    Args:
        atoms: ``(N, D_a)`` float64 arrays; the joint space is their concatenation.
        k: neighbour order.
        count_sets: atom indices of each space to count in (strictly within the joint k-th
            neighbour distance, the point itself included).
        precision: ``float32`` or ``float64`` for the distance passes (same result).
        delta: bound on |narrow distance - float64 distance| (and the thresholds' rounding),
            as ``_brute._Units`` states it for ``precision``; 0 for float64.
        threads: worker threads (>= 1).

    Returns:
        ``(eps, counts)`` as :func:`infofusion.measures.mi._brute.brute_neighbours`.
    """
    exact = np.ascontiguousarray(np.hstack(atoms), dtype=np.float64)
    n = exact.shape[0]
    cols = np.ascontiguousarray(exact.T, dtype=np.float32 if precision == "float32" else None)
    widths = [a.shape[1] for a in atoms]
    bounds = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    sets = np.zeros((len(count_sets), len(atoms)), dtype=np.bool_)
    for s, sel in enumerate(count_sets):
        sets[s, list(sel)] = True
    eps = np.empty(n)
    counts = np.empty((len(count_sets), n), dtype=np.int64)
    chunks = [(lo, min(n, lo + CHUNK)) for lo in range(0, n, CHUNK)]
    workers = max(1, min(threads, len(chunks)))

    def run(span: tuple[int, int]) -> None:
        _rows(span[0], span[1], cols, bounds, sets, exact, k, delta, eps, counts)

    if workers == 1:
        for span in chunks:
            run(span)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, chunks))
    return eps, list(counts)
