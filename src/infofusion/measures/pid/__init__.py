"""Partial information decomposition: measures, canonical distributions, estimators.

Discrete measures (registered under kind ``"pid"``): ``broja`` (exact convex solver with a
certified gap), ``imin`` and ``mmi``; the ``batch`` neural estimator for large continuous data.
"""

from infofusion.measures.pid import canonical
from infofusion.measures.pid.base import ATOMS, PIDMeasure, PIDResult
from infofusion.measures.pid.broja import BrojaPID
from infofusion.measures.pid.solver import BrojaSolution, solve_broja
from infofusion.measures.pid.discretize import Discretization, discretize, discretize_target
from infofusion.measures.pid.estimate import AtomEstimate, PIDEstimate, estimate_pid
from infofusion.measures.pid.imin import MMIPID, IminPID
from infofusion.measures.pid.neural import BatchNeuralPID

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
    "PIDMeasure",
    "PIDResult",
    "canonical",
    "discretize",
    "discretize_target",
    "estimate_pid",
    "solve_broja",
]
