r"""``mist``: a learned MI estimator in the style of MIST (Gritsai et al., 2025), small and on the CPU.

A set transformer (:mod:`infofusion.measures.mi.mist_model`) trained on synthetic tasks with
known MI (:mod:`infofusion.measures.mi.mist_data`) reads a sample and returns quantiles of the
MI: the median is the estimate and ``[q_{(1-l)/2}, q_{(1+l)/2}]`` the interval at level
``l = ci_level`` (default 0.95, i.e. ``[q0.025, q0.975]``). Inference only: no training at
estimation time.

Its range is that of its training data, and it refuses what lies outside:

* at most ``d_max`` = 8 columns per side (more raises :class:`EstimationError`);
* at least ``n_min`` = 32 rows;
* continuous data: a column with fewer than half its values distinct raises (use ``plugin``
  or ``mixed`` for discrete data).

Rows beyond ``n_max`` = 256: the rows are put in a canonical order (sorted, so the result does
not depend on the order they came in), shuffled with ``seed`` and cut into disjoint chunks of
``n_max`` rows (at most ``max_chunks``; rows beyond are not used, ``extra["rows_used"]`` says
how many were). Each chunk is estimated and the quantiles are averaged across chunks. The
average lowers the variance of the point estimate but not the bias of a 256-row estimate, and
the averaged interval keeps the width of one chunk's interval (conservative for the average).

Each chunk is also read in ``views`` column orders (random permutations within X and within Y,
and X and Y swapped in every other view; MI is unchanged by both), averaged too: the network is
invariant to the order of rows by construction, to the order of columns only approximately.

The standard error reported is the interval's half-width over :math:`z_{(1+l)/2}` (a normal
reading of the quantiles). Inputs are rank-normalised per column (normal scores) by the shipped
checkpoint, so the estimate is invariant to strictly increasing maps of each column.

Example:
    >>> import numpy as np
    >>> from infofusion.measures.mi import estimate_mi
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((256, 1)); y = 0.8 * x + 0.6 * rng.standard_normal((256, 1))
    >>> est = estimate_mi(x, y, estimator="mist")  # truth: -log(0.6) = 0.51
    >>> est.ci[0] < 0.51 < est.ci[1]
    True
"""

from __future__ import annotations

import functools
import json
import pickle
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtri

from infofusion.errors import EstimationError, FormatError
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, check
from infofusion.registry import register

SHIPPED = "mist.pt"


@dataclass(frozen=True)
class MISTParams:
    """Parameters of ``mist``.

    Attributes:
        ci_level: level of the quantile interval (0.95: ``[q0.025, q0.975]``).
        views: column orders averaged per chunk (1: the given order only).
        max_chunks: chunks of ``n_max`` rows used at most when the sample is larger.
        seed: seed of the chunking and the column orders.
        checkpoint: path of a checkpoint made by ``scripts/train_mist.py`` (empty: the shipped
            one).
    """

    ci_level: float = 0.95
    views: int = 8
    max_chunks: int = 32
    seed: int = 0
    checkpoint: str = ""

    def __post_init__(self) -> None:
        check(0 < self.ci_level < 1, "ci_level", self.ci_level, "in (0, 1)")
        check(
            isinstance(self.views, int) and self.views >= 1, "views", self.views, "an integer >= 1"
        )
        check(
            isinstance(self.max_chunks, int) and self.max_chunks >= 1,
            "max_chunks",
            self.max_chunks,
            "an integer >= 1",
        )


@functools.lru_cache(maxsize=4)
def load_network(checkpoint: str = "") -> Any:
    """The trained :class:`~infofusion.measures.mi.mist_model.MISTNet` (eval mode), cached.

    Loaded with ``torch.load(..., weights_only=True)``: tensors and plain containers only.

    Raises:
        FormatError: the file is missing or is not a ``mist`` checkpoint.
    """
    import torch

    from infofusion.measures.mi.mist_model import MISTConfig, MISTNet

    if checkpoint and not Path(checkpoint).is_file():
        raise FormatError("no such mist checkpoint", path=checkpoint)
    try:
        if checkpoint:
            blob = torch.load(checkpoint, map_location="cpu", weights_only=True)
        else:
            shipped = resources.files("infofusion.measures.mi").joinpath("weights", SHIPPED)
            with resources.as_file(shipped) as path:
                blob = torch.load(path, map_location="cpu", weights_only=True)
        net = MISTNet(MISTConfig(**blob["config"]))
        net.load_state_dict(blob["state_dict"])
    except (
        pickle.UnpicklingError,
        OSError,
        EOFError,
        KeyError,
        TypeError,
        ValueError,
        RuntimeError,
    ) as exc:
        # wrong layout, truncated file, or an object the weights-only unpickler refuses
        raise FormatError(f"not a mist checkpoint ({exc})", path=checkpoint or SHIPPED) from exc
    net.eval()
    return net


def training_record() -> dict[str, Any]:
    """The record written next to the shipped checkpoint (arguments, seed, versions, losses)."""
    text = resources.files("infofusion.measures.mi").joinpath("weights", "mist.json").read_text()
    return json.loads(text)


def canonical_chunks(xy: np.ndarray, size: int, max_chunks: int, seed: int) -> list[np.ndarray]:
    """Row indices of disjoint chunks of ``size`` rows, independent of the order of the rows.

    Rows are sorted lexicographically (a canonical order of the set), then shuffled with
    ``seed``. A sample of at most ``size`` rows is one chunk of all of them.

    Args:
        xy: ``(N, D)`` rows.
        size: rows per chunk.
        max_chunks: chunks at most.
        seed: the shuffle.

    Returns:
        ``min(max_chunks, N // size)`` index arrays (one array of all rows when ``N <= size``).
    """
    n = xy.shape[0]
    if n <= size:
        return [np.arange(n)]
    order = np.lexsort(xy.T[::-1])
    order = order[np.random.default_rng(seed).permutation(n)]
    count = min(max_chunks, n // size)
    return [order[i * size : (i + 1) * size] for i in range(count)]


@register("estimator", "mist", help="Learned (MIST-style) quantile estimate; <= 8 columns a side.")
class MISTEstimator(MIEstimatorBase):
    """Learned MI estimator: a set transformer's median and quantile interval (inference only)."""

    name = "mist"
    Params = MISTParams
    min_samples = 32

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        import torch

        from infofusion.measures.mi.mist_model import pack

        p: MISTParams = self._params
        net = load_network(p.checkpoint)
        cfg = net.cfg
        n = x.shape[0]
        for a, side in ((x, "x"), (y, "y")):
            if a.shape[1] > cfg.d_max:
                raise EstimationError(
                    f"estimator 'mist' was trained on at most {cfg.d_max} columns per side; "
                    f"{side} has {a.shape[1]} (reduce the dimension first, or use 'auto')"
                )
            for j in range(a.shape[1]):
                distinct = np.unique(a[:, j]).size
                if distinct < 0.5 * n:
                    raise EstimationError(
                        f"estimator 'mist' expects continuous data; column {side}[:, {j}] has "
                        f"{distinct} distinct values in {n} samples (use 'plugin' or 'mixed')"
                    )
        if n < cfg.n_min:
            raise EstimationError(f"estimator 'mist' needs at least {cfg.n_min} samples, got {n}")
        chunks = canonical_chunks(np.hstack([x, y]), cfg.n_max, p.max_chunks, p.seed)
        rng = np.random.default_rng([p.seed, 1])
        views = [(np.arange(x.shape[1]), np.arange(y.shape[1]), False)]
        for v in range(1, p.views):
            views.append((rng.permutation(x.shape[1]), rng.permutation(y.shape[1]), v % 2 == 1))
        pairs = []
        for idx in chunks:
            for px, py, swap in views:
                xs, ys = x[idx][:, px], y[idx][:, py]
                pairs.append((ys, xs) if swap else (xs, ys))
        lo_tau, hi_tau = (1 - p.ci_level) / 2, (1 + p.ci_level) / 2
        taus = torch.tensor([lo_tau, 0.05, 0.5, 0.95, hi_tau])
        qs = []
        with torch.no_grad():
            for start in range(0, len(pairs), 64):
                rows, row_mask, col_mask = pack(pairs[start : start + 64], cfg.d_max, cfg.normalize)
                med, w = net(rows, row_mask, col_mask)
                qs.append(net.quantiles(med, w, taus).double().numpy())
        q = np.concatenate(qs).mean(axis=0)  # average over chunks and views
        q = np.maximum(q, 0.0)  # MI >= 0
        value, low, high = float(q[2]), float(q[0]), float(q[4])
        stderr = (high - low) / (2 * float(ndtri(hi_tau)))
        return Estimate(
            value=value,
            stderr=stderr,
            ci=(low, high),
            ci_level=p.ci_level,
            n=int(sum(len(c) for c in chunks)),
            extra={
                "quantiles": {
                    "q_lo": low,
                    "q0.05": float(q[1]),
                    "q0.5": value,
                    "q0.95": float(q[3]),
                    "q_hi": high,
                },
                "chunks": len(chunks),
                "chunk_size": int(min(n, cfg.n_max)),
                "rows_used": int(sum(len(c) for c in chunks)),
                "views": p.views,
                "trained_range": {"n": [cfg.n_min, cfg.n_max], "d_max": cfg.d_max},
                "normalize": cfg.normalize,
            },
        )
