"""Partial information decomposition: measures, canonical distributions, estimators.

Two registry kinds, two contracts:

* ``"pid"`` -- discrete measures, ``decompose(p) -> PIDResult`` on a joint ``(n1, n2, ny)``
  distribution: ``broja`` (exact solver with a certified gap), ``imin``, ``mmi``.
* ``"pid_estimator"`` -- dataset-level estimators, ``estimate(dataset, modalities) ->
  PIDEstimate``: ``plugin`` (discretise, then bias-corrected plug-in with intervals) and
  ``batch`` (neural classifiers plus the exact solver on held-out batches).
"""

from infofusion.measures.pid import canonical
from infofusion.measures.pid.base import ATOMS, PIDMeasure, PIDResult
from infofusion.measures.pid.broja import BrojaPID
from infofusion.measures.pid.discretize import Discretization, discretize, discretize_target
from infofusion.measures.pid.estimate import AtomEstimate, PIDEstimate, estimate_pid
from infofusion.measures.pid.estimators import PIDEstimator, PluginPID, create_estimator
from infofusion.measures.pid.imin import MMIPID, IminPID
from infofusion.measures.pid.neural import BatchNeuralPID
from infofusion.measures.pid.solver import BrojaSolution, solve_broja

__all__ = [
    "ATOMS",
    "AtomEstimate",
    "BatchNeuralPID",
    "BrojaPID",
    "BrojaSolution",
    "Discretization",
    "IminPID",
    "MMIPID",
    "PIDEstimate",
    "PIDEstimator",
    "PIDMeasure",
    "PIDResult",
    "PluginPID",
    "canonical",
    "create_estimator",
    "discretize",
    "discretize_target",
    "estimate_pid",
    "solve_broja",
]
