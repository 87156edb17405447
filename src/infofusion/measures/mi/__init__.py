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

import infofusion.measures.mi.cauchy_schwarz  # noqa: F401  (registers cs_qmi)
import infofusion.measures.mi.diffusion  # noqa: F401  (registers dsmi)
import infofusion.measures.mi.wasserstein  # noqa: F401  (registers wdm)
from infofusion.interfaces import Estimate
from infofusion.measures.mi import auto, club, gaussian, ksg, neural, plugin  # noqa: F401  (registers)
from infofusion.measures.mi.base import MIEstimatorBase, ProgressFn
from infofusion.measures.mi.mist import MISTEstimator  # noqa: F401  (registers the learned one)
from infofusion.registry import create, describe, get, list_components

__all__ = ["MIEstimatorBase", "create_estimator", "estimate_mi", "list_estimators"]


def create_estimator(
    name: str = "auto", progress: ProgressFn | None = None, **params: Any
) -> MIEstimatorBase:
    """Instantiate a registered estimator by name (unknown names raise with suggestions)."""
    return create("estimator", name, progress=progress, **params)


def list_estimators(detailed: bool = False) -> dict[str, Any]:
    """name -> one-line description of every registered estimator.

    With ``detailed=True``: name -> ``{"help", "quantity", "unit", "kind"}``; ``quantity`` is
    ``mutual_information`` for MI estimators and names the measure otherwise (``cs_qmi``,
    ``diffusion_mi``, ``wasserstein``: dependence measures that are not Shannon MI).
    """
    names = list_components("estimator")
    helps = describe("estimator")
    if not detailed:
        return helps
    out = {}
    for name in names:
        cls = get("estimator", name)
        out[name] = {
            "help": helps[name],
            "quantity": getattr(cls, "quantity", "mutual_information"),
            "unit": getattr(cls, "unit", "nats"),
            "kind": getattr(cls, "kind", "estimate"),
        }
    return out


def estimate_mi(
    x: Any,
    y: Any,
    z: Any = None,
    estimator: str = "auto",
    progress: ProgressFn | None = None,
    unit: str = "nats",
    **params: Any,
) -> Estimate:
    """Estimate I(X; Y), or I(X; Y | Z) when ``z`` is given, in nats (or bits).

    Args:
        x: ``(N, Dx)`` samples (numpy, torch or nested lists; ``(N,)`` is one column).
        y: ``(N, Dy)`` samples paired with ``x``.
        z: optional ``(N, Dz)`` conditioning samples.
        estimator: registry name (see :func:`list_estimators`).
        progress: optional ``progress(done, total, message)`` callback.
        unit: ``nats`` or ``bits`` (measures in metric units, ``wdm``, accept only their own).
        **params: the estimator's parameters (e.g. ``k=5`` for ``ksg``).

    Returns:
        :class:`~infofusion.interfaces.Estimate` with value, stderr, CI and the parameters used.

    Raises:
        ConfigError: unknown estimator, parameter or unit.
        EstimationError: input the estimator cannot handle (the message says why).
    """
    from infofusion.errors import ConfigError

    if unit not in ("nats", "bits"):
        raise ConfigError(f"parameter 'unit' must be 'nats' or 'bits', got {unit!r}")
    est = create_estimator(estimator, progress=progress, **params)
    if unit == "bits" and est.unit != "nats":
        raise ConfigError(
            f"estimator '{estimator}' reports in {est.unit} units, not convertible to bits"
        )
    result = est.estimate(x, y, z)
    return result.to_bits() if unit == "bits" else result
