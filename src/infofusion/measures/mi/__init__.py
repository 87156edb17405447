"""Mutual-information estimators behind one protocol, and the Python API ``estimate_mi``.

Every estimator is registered by name (``infofusion.registry``) and implements
:class:`~infofusion.interfaces.MIEstimator`: ``estimate(x, y[, z]) -> Estimate`` (nats, with a
standard error and confidence interval) and ``parameters()`` (a typed, validated dataclass that
is saved with every result).

========== ============================================================ ==================
name       what                                                         conditional I(X;Y|Z)
========== ============================================================ ==================
auto       default: the largest of the Gaussian-copula, KSG, radial KSG yes (without the
           and held-out InfoNCE estimates (each errs low)               neural part)
gaussian   closed form under Gaussianity (CCA), bias-corrected          yes
gcmi       Gaussian estimate on rank-normalised columns                 yes
ksg        Kraskov et al. algorithms 1 and 2 on KD-trees                yes (Frenzel-Pompe)
plugin     discrete data, Miller-Madow corrected                        yes
mixed      discrete vs continuous (Ross)                                no
infonce,   neural lower bounds, held-out evaluation                     no
nwj, dv,
mine,
smile
club,      neural upper bounds through q(y | x)                         no
vclub
mist       learned (set transformer trained on known-MI tasks), median  no
           and quantile interval; <= 8 columns a side
========== ============================================================ ==================

Example:
    >>> import numpy as np
    >>> from infofusion.measures.mi import estimate_mi
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((3000, 2)); y = x + rng.standard_normal((3000, 2))
    >>> est = estimate_mi(x, y, estimator="gaussian")  # truth: log 2 = 0.693
    >>> round(est.value, 1)
    0.7
"""

from __future__ import annotations

from typing import Any

from infofusion.interfaces import Estimate
from infofusion.measures.mi import auto, club, gaussian, ksg, neural, plugin  # noqa: F401  (registers)
from infofusion.measures.mi.base import MIEstimatorBase, ProgressFn
from infofusion.measures.mi.mist import MISTEstimator  # noqa: F401  (registers the learned one)
from infofusion.registry import create, describe, list_components

__all__ = ["MIEstimatorBase", "create_estimator", "estimate_mi", "list_estimators"]


def create_estimator(
    name: str = "auto", progress: ProgressFn | None = None, **params: Any
) -> MIEstimatorBase:
    """Instantiate a registered estimator by name (unknown names raise with suggestions)."""
    return create("estimator", name, progress=progress, **params)


def list_estimators() -> dict[str, str]:
    """name -> one-line description of every registered estimator."""
    list_components("estimator")
    return describe("estimator")


def estimate_mi(
    x: Any,
    y: Any,
    z: Any = None,
    estimator: str = "auto",
    progress: ProgressFn | None = None,
    **params: Any,
) -> Estimate:
    """Estimate I(X; Y), or I(X; Y | Z) when ``z`` is given, in nats.

    Args:
        x: ``(N, Dx)`` samples (numpy, torch or nested lists; ``(N,)`` is one column).
        y: ``(N, Dy)`` samples paired with ``x``.
        z: optional ``(N, Dz)`` conditioning samples.
        estimator: registry name (see :func:`list_estimators`).
        progress: optional ``progress(done, total, message)`` callback.
        **params: the estimator's parameters (e.g. ``k=5`` for ``ksg``).

    Returns:
        :class:`~infofusion.interfaces.Estimate` with value, stderr, CI and the parameters used.
    """
    return create_estimator(estimator, progress=progress, **params).estimate(x, y, z)
