"""Exact max-norm neighbour search by blocked brute force in torch (the high-dimension KSG path).

KSG needs, for every point, the distance to its k-th neighbour in the joint max-norm space and
how many points lie within that distance in each marginal space. Max-norm distances factor over
the marginal spaces (``d_joint = max(d_x, d_y)``), so one pass computes everything: rows are
processed in blocks, each block forms one ``(b, N)`` distance matrix per marginal space, their
maximum gives the joint distances, the k-th neighbour is selected per row and the marginal
counts are read off the same matrices. Time O(N^2 D), memory O(b N) with ``b`` chosen so that a
block matrix holds about :data:`BLOCK_BYTES` (it stays in cache).

The distance passes run in a narrow type -- int16 on a fixed grid, or float32 -- because they
are bound by memory traffic; every decision the narrow type could get wrong is settled in
float64. All narrow distances are within ``delta`` (in the block's units) of the float64
distances, so

* the k-th neighbour is taken from the narrow ranking when its narrow value is more than
  ``2 delta`` from the values ranked next to it (then the ranking is provably the exact one),
  else re-ranked in float64 among the narrow candidates that could be it, and a row whose
  candidates do not provably contain it is recomputed in float64 entirely;
* a point is counted from its narrow distance only when that is more than ``delta`` from the
  radius; points in between are recomputed in float64.

The result is therefore exactly the float64 answer of a KD-tree search, not an approximation.

Per block, after the distance passes: the k-th neighbour candidates come from ranking only the
minima of column groups (built by taking elementwise minima of contiguous halves, so every pass
runs on contiguous rows), and the radius counts sum the comparison mask eight bytes at a time
(:class:`_Counter`) rather than element by element.
The grid type is used when the data's largest magnitude is within :data:`INT16_MAX_SPREAD`
robust scales (no extreme outliers); otherwise float32, or float64 for extreme outliers.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch

from infofusion.errors import EstimationError

#: rows per block are chosen so that one block distance matrix holds about this many bytes.
BLOCK_BYTES = 2.5 * 2**20
#: candidates beyond the k-th that the narrow pass hands to the float64 re-ranking.
EXTRA = 4
#: columns per group of the candidate pre-selection (a power of 2; only the minimum of each
#: group is ranked).
GROUP = 4
#: largest ratio of the peak magnitude to the median column MAD for the int16 grid.
INT16_MAX_SPREAD = 16.0
#: largest such ratio for float32; beyond it every pass runs in float64.
FLOAT32_MAX_SPREAD = 1e4
_GRID_HALF = 16383  # |q| <= 16383, so |q_i - q_j| <= 32766 fits int16


def _chebyshev_into(
    out: torch.Tensor, tmp: torch.Tensor, rows: torch.Tensor, cols_t: torch.Tensor
) -> None:
    """``out[i, j] = max_d |rows[i, d] - cols_t[d, j]|`` for ``(b, D)`` rows, ``(D, N)`` columns."""
    torch.sub(rows[:, :1], cols_t[:1], out=out)
    out.abs_()
    for d in range(1, rows.shape[1]):
        torch.sub(rows[:, d : d + 1], cols_t[d : d + 1], out=tmp)
        tmp.abs_()
        torch.maximum(out, tmp, out=out)


def _maximum(mats: Sequence[torch.Tensor], out: torch.Tensor) -> torch.Tensor:
    """Elementwise maximum of ``(b, N)`` blocks (the block itself when there is one)."""
    if len(mats) == 1:
        return mats[0]
    torch.maximum(mats[0], mats[1], out=out)
    for m in mats[2:]:
        torch.maximum(out, m, out=out)
    return out


def exact_max_norm(
    atoms: Sequence[np.ndarray], sel: Sequence[int], i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """float64 max-norm distances of the pairs ``(i, j)`` (broadcast) in the space ``sel``."""
    out = np.zeros(np.broadcast_shapes(i.shape, j.shape))
    for a in sel:
        np.maximum(out, np.abs(atoms[a][i] - atoms[a][j]).max(axis=-1), out=out)
    return out


def choose_precision(atoms: Sequence[np.ndarray]) -> str:
    """``int16``, ``float32`` or ``float64`` for the distance passes (see the module docstring)."""
    data = np.hstack(atoms)
    peak = float(np.abs(data).max())
    # the scale only decides the speed (every precision gives the same result): a strided
    # subsample of rows estimates it
    data = data[:: max(1, data.shape[0] // 1024)]
    mad = np.median(np.abs(data - np.median(data, axis=0)), axis=0)
    scale = float(np.median(mad))
    if scale <= 0:
        return "float64"
    spread = peak / scale
    if spread <= INT16_MAX_SPREAD:
        return "int16"
    return "float32" if spread <= FLOAT32_MAX_SPREAD else "float64"


class _Units:
    """The narrow representation: block dtype, conversion of float64 radii, tolerance."""

    def __init__(self, precision: str, atoms: Sequence[np.ndarray]) -> None:
        peak = max(float(np.abs(a).max()) for a in atoms)
        self.precision = precision
        if precision == "int16":
            self.dtype, self.step = torch.int16, max(peak, 1e-300) / _GRID_HALF
            # |step * q - a| <= step / 2 per value, so distances are within one grid unit
            self.delta = 1.0 + 1e-6
        elif precision == "float32":
            self.dtype, self.step = torch.float32, 1.0
            # |float32 distance - float64 distance| <= 2^-22 peak; 2^-20 also covers rounding
            # the thresholds to float32
            self.delta = 2.0**-20 * peak
        else:
            self.dtype, self.step, self.delta = torch.float64, 1.0, 0.0

    def encode(self, a: np.ndarray) -> torch.Tensor:
        if self.precision == "int16":
            return torch.from_numpy(np.rint(a / self.step).astype(np.int16))
        return torch.from_numpy(a).to(self.dtype)

    def thresholds(self, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` in block units: ``d < lo`` is surely ``< e``, ``d >= hi`` surely not."""
        if self.precision == "int16":
            u = e / self.step
            lo = np.clip(np.ceil(u - self.delta), -32768, 32767)
            hi = np.clip(np.floor(u + self.delta) + 1, -32768, 32767)  # all d <= 32766
            return lo.astype(np.int16), hi.astype(np.int16)
        np_dtype = np.float32 if self.precision == "float32" else np.float64
        return (e - self.delta).astype(np_dtype), (e + self.delta).astype(np_dtype)


@functools.cache
def _compiled_module():
    """:mod:`._brute_compiled`, or the exception that stops it (numba missing or broken)."""
    try:
        from infofusion.measures.mi import _brute_compiled
    except Exception as exc:  # numba not installed, or not importable with this numpy
        return exc
    return _brute_compiled


def compiled_available() -> bool:
    """Whether the compiled (numba) search can run here."""
    return not isinstance(_compiled_module(), Exception)


def resolve_kernel(kernel: str, algorithm: int = 1) -> str:
    """``compiled`` or ``torch``: the implementation ``kernel`` (``auto`` or either) runs on.

    ``auto`` takes the compiled search when numba is importable and the algorithm is 1 (the
    compiled loop implements algorithm 1 only), else torch. Asking for ``compiled`` where it
    cannot run is an :class:`~infofusion.errors.EstimationError` naming why.
    """
    if kernel == "torch":
        return "torch"
    if kernel == "auto":
        return "compiled" if algorithm == 1 and compiled_available() else "torch"
    if algorithm != 1:
        raise EstimationError(
            "kernel='compiled' implements KSG algorithm 1 only; use kernel='torch' or 'auto' "
            "for algorithm 2"
        )
    mod = _compiled_module()
    if isinstance(mod, Exception):
        raise EstimationError(
            f"kernel='compiled' needs numba, which cannot be imported here ({mod}); install "
            "the 'fast' extra (pip install 'infofusion[fast]') or use kernel='torch'"
        )
    return "compiled"


def brute_neighbours(
    atoms: Sequence[np.ndarray],
    k: int,
    count_sets: Sequence[Sequence[int]],
    algorithm: int = 1,
    precision: str = "auto",
    kernel: str = "torch",
    threads: int = 1,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """k-th neighbour distances in the joint max-norm space and radius counts, by brute force.

    Args:
        atoms: ``(N, D_a)`` float64 arrays; the joint space is their concatenation.
        k: neighbour order (the point itself is not its own neighbour).
        count_sets: atom indices of each space to count in, e.g. ``[(0,), (1,)]`` for X and Y,
            ``[(0, 2), (1, 2), (2,)]`` for XZ, YZ and Z.
        algorithm: 1: count points strictly within the joint k-th neighbour distance, the
            point itself included; 2 (Kraskov's second algorithm): per-space radius = the
            largest distance in that space to one of the k joint neighbours, count within it
            (non-strict), the point itself excluded. Algorithm 2 always runs in float64.
        precision: ``auto`` (:func:`choose_precision`), ``int16``, ``float32`` or
            ``float64``; every choice gives the same result (the compiled search runs
            ``int16`` as ``float32``).
        kernel: ``torch`` (blocked passes in torch), ``compiled`` (one fused loop per row,
            :mod:`._brute_compiled`; needs numba) or ``auto`` (:func:`resolve_kernel`). Same
            result.
        threads: worker threads of the compiled search (the torch search runs on torch's
            thread setting).

    Returns:
        ``(eps, counts)``: ``(N,)`` float64 joint k-th neighbour distances and one ``(N,)``
        int64 count array per count set.
    """
    atoms = [np.ascontiguousarray(a, dtype=np.float64) for a in atoms]
    n = atoms[0].shape[0]
    if algorithm == 2:
        precision = "float64"
    elif precision == "auto":
        precision = choose_precision(atoms)
    if resolve_kernel(kernel, algorithm) == "compiled":
        narrow = "float64" if precision == "float64" else "float32"
        delta = _Units(narrow, atoms).delta
        return _compiled_module().compiled_neighbours(atoms, k, count_sets, narrow, delta, threads)
    units = _Units(precision, atoms)
    item = torch.empty(0, dtype=units.dtype).element_size()
    b = int(max(8, min(n, BLOCK_BYTES // (item * n))))
    rows = [units.encode(a) for a in atoms]  # (N, D_a)
    cols = [r.T.contiguous() for r in rows]  # (D_a, N)
    dist = [torch.empty(b, n, dtype=units.dtype) for _ in atoms]
    tmp, space = torch.empty(b, n, dtype=units.dtype), torch.empty(b, n, dtype=units.dtype)
    eps = np.empty(n)
    counts = [np.empty(n, dtype=np.int64) for _ in count_sets]
    counter = _Counter(b, n)
    for start in range(0, n, b):
        stop = min(n, start + b)
        m = stop - start
        blocks = [d[:m] for d in dist]
        for a, blk in enumerate(blocks):
            _chebyshev_into(blk, tmp[:m], rows[a][start:stop], cols[a])
        joint = _maximum(blocks, space[:m])
        ii = np.arange(start, stop)
        if algorithm == 2:
            vals, idx = torch.topk(joint, k + 1, dim=1, largest=False)  # (m, k + 1)
            eps[start:stop] = vals[:, -1].numpy()
            for c, sel in enumerate(count_sets):
                sp = _maximum([blocks[a] for a in sel], tmp[:m])
                radius = sp.gather(1, idx).max(dim=1).values
                within = np.count_nonzero((sp <= radius[:, None]).numpy(), axis=1)
                counts[c][start:stop] = within - 1
            continue
        if precision == "float64":
            e = torch.topk(joint, k + 1, dim=1, largest=False).values[:, -1].numpy()
            kth = None
        else:
            e, kth = _kth_exact(joint, atoms, ii, k, units)
        eps[start:stop] = e
        lo, hi = units.thresholds(e)
        for c, sel in enumerate(count_sets):
            sp = _maximum([blocks[a] for a in sel], tmp[:m]).numpy()
            cnt = counter.below(sp, lo)
            if kth is not None:
                n_band = counter.below(sp, hi) - cnt
                cnt += _settle_band(sp, n_band, lo, hi, e, kth, atoms, sel, ii)
            counts[c][start:stop] = cnt
    return eps, counts


def _kth_exact(
    joint: torch.Tensor, atoms: Sequence[np.ndarray], ii: np.ndarray, k: int, units: _Units
) -> tuple[np.ndarray, np.ndarray]:
    """float64 k-th neighbour distance and index of each row of a narrow joint block."""
    m, n = joint.shape
    everything = tuple(range(len(atoms)))
    width = k + 1 + EXTRA
    span = n // GROUP
    if span > 2 * width:
        # group the columns {g, g + span, g + 2 span, ...} (halving minima of contiguous halves,
        # so every pass runs on contiguous rows), rank the groups' minima, and take the chosen
        # groups' columns and the few left over after the last full group as candidates
        mins = joint[:, : GROUP * span]
        while mins.shape[1] > span:
            h = mins.shape[1] // 2
            mins = torch.minimum(mins[:, :h], mins[:, h:])
        gvals, gidx = torch.topk(mins, width, dim=1, largest=False, sorted=False)
        bound = gvals.max(dim=1).values.numpy().astype(np.float64)  # every column below: chosen
        cand = (gidx[:, :, None] + span * torch.arange(GROUP)).reshape(m, -1).numpy()
        if GROUP * span < n:
            rest = np.broadcast_to(np.arange(GROUP * span, n), (m, n - GROUP * span))
            cand = np.hstack([cand, rest])
        offsets = (np.arange(m) * cand.shape[1])[:, None]
        narrow = joint.numpy().ravel()[cand + (np.arange(m) * n)[:, None]]
        # keep the `width` smallest; the others are at least their maximum
        keep = np.argpartition(narrow, width - 1, axis=1)[:, :width] + offsets
        cand = cand.ravel()[keep]
        narrow = narrow.ravel()[keep].astype(np.float64)
        bound = np.minimum(bound, narrow.max(axis=1))
    elif n > width:
        # the `width` smallest narrow distances of each row; every other column is at least
        # their maximum (`bound`)
        vals, idx = torch.topk(joint, width, dim=1, largest=False, sorted=False)
        narrow = vals.numpy().astype(np.float64)
        bound = narrow.max(axis=1)
        cand = idx.numpy()
    else:
        bound = np.full(m, np.inf)
        cand = np.broadcast_to(np.arange(n), (m, n))
        narrow = joint.numpy().astype(np.float64)
    # when the narrow k-th value is more than 2 delta from its neighbours in the ranking, the
    # narrow k-th neighbour is the exact one: one float64 distance per row settles it
    kths = [k - 1, k] + ([k + 1] if narrow.shape[1] > k + 1 else [])
    order = np.argpartition(narrow, kths, axis=1)
    v = np.take_along_axis(narrow, order[:, kths], axis=1)
    kth_narrow = v[:, 1]
    clear = kth_narrow - v[:, 0] > 2 * units.delta
    if len(kths) == 3:
        clear &= v[:, 2] - kth_narrow > 2 * units.delta
    rows = np.arange(m)
    kth = cand[rows, order[:, k]]
    e = exact_max_norm(atoms, everything, ii, kth)
    close = np.flatnonzero(~clear)
    if len(close):  # otherwise re-rank all candidates in float64
        exact = exact_max_norm(atoms, everything, ii[close, None], cand[close])
        pos = np.argpartition(exact, k, axis=1)[:, k]
        e[close], kth[close] = exact[np.arange(len(close)), pos], cand[close, pos]
    # a point outside the candidates can be within delta of the k-th only if the bound does not
    # clear the narrow k-th value by 2 delta: settle those rows on all N points in float64
    unsure = np.flatnonzero(bound <= kth_narrow + 2 * units.delta)
    chunk = max(1, int(BLOCK_BYTES // (8 * n)))
    for s in range(0, len(unsure), chunk):
        r = unsure[s : s + chunk]
        full = exact_max_norm(atoms, everything, ii[r, None], np.arange(n)[None, :])
        p = np.argpartition(full, k, axis=1)[:, k]
        e[r], kth[r] = full[np.arange(len(r)), p], p
    return e, kth


class _Counter:
    """Per-row counts of ``sp < t`` for ``(m, N)`` blocks, summing eight mask bytes at a time.

    The boolean mask lives in a zero-padded byte buffer viewed as uint64 words; the words of a
    row are summed in parts of at most 255 (so no byte of the sum overflows), then the bytes of
    those sums. This is several times faster than ``count_nonzero(axis=1)`` on the mask.
    """

    def __init__(self, rows: int, n: int) -> None:
        words = -(-n // 8)
        self.parts = -(-words // 255)
        self.per_part = -(-words // self.parts)
        self.n = n
        self.buf = np.zeros((rows, self.parts * self.per_part * 8), dtype=bool)

    def below(self, sp: np.ndarray, t: np.ndarray) -> np.ndarray:
        m = sp.shape[0]
        buf = self.buf[:m]
        np.less(sp, t[:, None], out=buf[:, : self.n])
        words = buf.view(np.uint64).reshape(m, self.parts, self.per_part)
        sums = words.sum(axis=2, dtype=np.uint64)  # each byte <= 255
        return sums.view(np.uint8).reshape(m, -1).sum(axis=1, dtype=np.int64)


def _settle_band(
    sp: np.ndarray,
    n_band: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    e: np.ndarray,
    kth: np.ndarray,
    atoms: Sequence[np.ndarray],
    sel: Sequence[int],
    ii: np.ndarray,
) -> np.ndarray:
    """Extra counts from the points whose narrow distance is too close to the radius to tell."""
    m = sp.shape[0]
    add = np.zeros(m, dtype=np.int64)
    if not n_band.any():
        return add
    # usually the one point in the band is the k-th neighbour itself, at distance exactly e in
    # the space holding its largest coordinate difference: settle it directly
    d_kth = sp[np.arange(m), kth]
    one = (n_band == 1) & (d_kth >= lo) & (d_kth < hi)
    r1 = np.flatnonzero(one)
    add[r1] = exact_max_norm(atoms, sel, ii[r1], kth[r1]) < e[r1]
    rest = np.flatnonzero((n_band > 0) & ~one)
    if len(rest):
        sub = sp[rest]
        flat = np.flatnonzero((sub >= lo[rest, None]) & (sub < hi[rest, None]))
        r, j = np.divmod(flat, sp.shape[1])
        inside = exact_max_norm(atoms, sel, ii[rest[r]], j) < e[rest[r]]
        np.add.at(add, rest[r], inside.astype(np.int64))
    return add
