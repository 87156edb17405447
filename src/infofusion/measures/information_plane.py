r"""Information-plane coordinates of a representation: I(T; X) and I(T; Y) after compression.

The information-bottleneck analysis of a network (Shwartz-Ziv & Tishby 2017) places a layer's
representation :math:`T` at :math:`(I(T; X), I(T; Y))`. Estimating MI between a wide layer and
the raw input directly is hopeless with nearest-neighbour estimators, so the analysis of the
reading list ("information plane" with compression before estimation) first compresses both
:math:`T` and :math:`X` to a few dimensions and estimates MI of the compressed variables:

.. math::

    \hat I(T; X) = \hat I(c_T(T); c_X(X)), \qquad \hat I(T; Y) = \hat I(c_T(T); Y),

with :math:`c` a PCA projection onto the top-:math:`k` principal components (default) or the
code of a small autoencoder. By data processing :math:`I(c(T); \cdot) \le I(T; \cdot)`, so the
compressed coordinates are lower bounds of the uncompressed ones up to estimation error.

This module computes and returns numbers only; the training callback
(:mod:`infofusion.training.info_plane`) captures activations, and
:mod:`infofusion.report.information_plane` draws the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, EstimationError

#: compression methods: ``pca`` (default), ``ae`` (small autoencoder), ``none``.
COMPRESSIONS = ("pca", "ae", "none")


@dataclass(frozen=True)
class Compression:
    """How a representation is compressed before MI estimation.

    Attributes:
        method: ``pca`` (top-``k`` principal components, fitted on the samples given),
            ``ae`` (the ``k``-dimensional code of a small tanh autoencoder trained on them) or
            ``none`` (the raw columns).
        k: kept dimensions (ignored for ``none``).
        seed: seed of the autoencoder's initialisation and shuffling.
    """

    method: str = "pca"
    k: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in COMPRESSIONS:
            raise ConfigError(
                f"compression must be one of {', '.join(COMPRESSIONS)} (as 'pca:8', 'ae:8', "
                f"'none'), got {self.method!r}"
            )
        if not (isinstance(self.k, int) and not isinstance(self.k, bool) and self.k >= 1):
            raise ConfigError(f"compression size k must be an integer >= 1, got {self.k!r}")

    @classmethod
    def parse(cls, text: str | Compression, seed: int = 0) -> Compression:
        """``"pca:8"`` / ``"ae:4"`` / ``"pca"`` (k = 8) / ``"none"`` -> :class:`Compression`.

        Raises:
            ConfigError: unknown method or a size that is not a positive integer.
        """
        if isinstance(text, Compression):
            return text
        if not isinstance(text, str):
            raise ConfigError(f"compression must be a string such as 'pca:8', got {text!r}")
        method, sep, size = text.strip().partition(":")
        method = method.strip().lower()
        if not sep:
            return cls(method, seed=seed)
        try:
            k = int(size)
        except ValueError:
            raise ConfigError(
                f"compression size in {text!r} must be an integer, as in 'pca:8'"
            ) from None
        return cls(method, k, seed)

    def __str__(self) -> str:
        return "none" if self.method == "none" else f"{self.method}:{self.k}"


def _drop_constant(a: np.ndarray) -> np.ndarray:
    keep = ~(a == a[:1]).all(axis=0)
    return a[:, keep]


def pca_compress(a: np.ndarray, k: int) -> np.ndarray:
    """Scores of ``(N, D)`` on its top-``k`` principal components: ``(N, min(k, rank))``.

    Columns are centred, not scaled (a layer's units share one scale). Directions with no
    variance are dropped, so a constant input gives ``(N, 0)``.
    """
    a = _drop_constant(np.asarray(a, dtype=np.float64))
    if a.shape[1] == 0:
        return a
    a = a - a.mean(axis=0)
    u, s, _ = np.linalg.svd(a, full_matrices=False)  # (N, r), (r,)
    tol = s.max() * max(a.shape) * np.finfo(np.float64).eps if s.size else 0.0
    r = min(k, int((s > tol).sum()))
    return u[:, :r] * s[:r]


def ae_compress(a: np.ndarray, k: int, seed: int = 0, max_steps: int = 400) -> np.ndarray:
    """The ``k``-dimensional code of a small autoencoder trained on ``(N, D)``: ``(N, k)``.

    Encoder ``D -> h -> k`` and decoder ``k -> h -> D`` with tanh (``h = min(64, 2 D)``), trained
    on standardised columns with mean squared error on 80 % of the rows, early-stopped on the
    other 20 % through :func:`infofusion.training.auxiliary.fit_auxiliary`. The caller's global
    torch random state is left untouched.
    """
    import torch
    from torch import nn

    from infofusion.training.auxiliary import fit_auxiliary

    a = _drop_constant(np.asarray(a, dtype=np.float64))
    if a.shape[1] == 0:
        return a
    a = (a - a.mean(axis=0)) / a.std(axis=0)
    n, d = a.shape
    h = min(64, 2 * d)
    from infofusion.measures.mi.base import TorchThreads

    with torch.random.fork_rng(devices=[]), TorchThreads(1):  # one thread: fastest for a tiny net
        torch.manual_seed(seed)
        enc = nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, k))
        dec = nn.Sequential(nn.Linear(k, h), nn.Tanh(), nn.Linear(h, d))
        model = nn.Sequential(enc, dec)
        data = torch.as_tensor(a, dtype=torch.float32)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        n_valid = max(1, n // 5)
        train, valid = data[perm[n_valid:]], data[perm[:n_valid]]

        def objective(idx: torch.Tensor) -> torch.Tensor:
            return (model(train[idx]) - train[idx]).pow(2).mean()

        fit_auxiliary(
            model,
            objective,
            len(train),
            lambda: float((model(valid) - valid).pow(2).mean()),
            batch_size=256,
            max_steps=max_steps,
            eval_every=20,
            patience=5,
            lr=3e-3,
            generator=torch.Generator().manual_seed(seed + 1),
            higher_is_better=False,
        )
        with torch.no_grad():
            code = enc(data).double().numpy()
    return code


def compress(a: Any, how: Compression | str) -> np.ndarray:
    """Compress ``(N, D)`` samples as ``how`` says (:class:`Compression` or ``"pca:8"``).

    Returns:
        ``(N, k')`` with ``k' <= k``: fewer columns when the data has fewer non-constant
        directions, none at all for constant data.
    """
    how = Compression.parse(how)
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise EstimationError(f"compression needs (N, D) samples, got shape {a.shape}")
    if how.method == "none":
        return a
    if how.method == "ae":
        return ae_compress(a, how.k, how.seed)
    return pca_compress(a, how.k)


def plane_point(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    estimator: str = "auto",
    unit: str = "bits",
    **params: Any,
) -> dict[str, Any]:
    """Estimate I(T; X) and I(T; Y) of already compressed samples.

    Args:
        t: ``(N, Dt)`` compressed representation (``Dt = 0``: constant, both values are 0).
        x: ``(N, Dx)`` compressed input.
        y: ``(N,)`` class labels or targets.
        estimator: registry name of the MI estimator.
        unit: ``bits`` or ``nats``.
        **params: the estimator's parameters.

    Returns:
        ``{"I_TX", "I_TX_low", "I_TX_high", "I_TY", "I_TY_low", "I_TY_high", "dims_T"}``: values
        with the estimator's 95 % interval; ``"chosen_TX"`` / ``"chosen_TY"``: the component of
        ``auto`` that gave the value; ``"error_TX"`` / ``"error_TY"`` (the message) in place of a
        value the estimator refused (the value is then NaN).
    """
    from infofusion.measures.mi import estimate_mi

    t = np.asarray(t, dtype=np.float64)
    out: dict[str, Any] = {"dims_T": int(t.shape[1])}
    for key, other in (("TX", x), ("TY", y)):
        if t.shape[1] == 0 or np.asarray(other).size == 0:  # a constant side carries nothing
            out.update({f"I_{key}": 0.0, f"I_{key}_low": 0.0, f"I_{key}_high": 0.0})
            continue
        try:
            est = estimate_mi(t, other, estimator=estimator, unit=unit, **params)
        except EstimationError as exc:
            nan = math.nan
            out.update({f"I_{key}": nan, f"I_{key}_low": nan, f"I_{key}_high": nan})
            out[f"error_{key}"] = str(exc)
            continue
        lo, hi = est.ci if est.ci is not None else (math.nan, math.nan)
        out.update({f"I_{key}": float(est.value), f"I_{key}_low": float(lo), f"I_{key}_high": float(hi)})
        if "chosen" in est.extra:  # the component of 'auto' that gave the value
            out[f"chosen_{key}"] = str(est.extra["chosen"])
    return out
