r"""The default estimator: the tightest of several estimates that err low.

Each component is, in expectation, at or below the truth, and each is close to it where the
others fail:

* ``gcmi`` (Gaussian copula): exact, up to noise, when per-column monotone maps make the data
  Gaussian; otherwise a lower bound (the Gaussian copula has the least MI for its normal-scores
  correlation). Sharp in high dimension, where nearest-neighbour methods collapse.
* ``ksg``: consistent for any continuous distribution, biased low at high MI and in many
  dimensions; it carries non-Gaussian dependence in low dimension (mixtures, dependence through
  the sign).
* ``radial``: KSG between the norms of the standardised sides, :math:`I(|X|; |Y|) \le I(X; Y)`
  by data processing. Dependence through a shared scale (elliptical, heavy-tailed data such as
  the multivariate Student-t) lives almost entirely in the norms, where a 1 x 1 KSG is accurate;
  a 5 x 5 KSG is not. Only used when a side has several columns.
* ``infonce`` on held-out data (``neural=True``, unconditional MI only): a variational lower
  bound that can follow non-monotone structure (spirals) the others miss. Its critic sees
  rank-normalised inputs plus each side's norm (both invertible maps, MI unchanged) and trains on
  70 % of the samples.

``auto`` reports the largest component and keeps every component's value in ``extra``. The
maximum of estimates that err low is a tighter lower bound than each; its cost is a small upward
bias at I = 0 (the maximum of noisy zeros, about one standard error).

A component that cannot run on the data (the Gaussian-copula estimate with more columns than
samples allow, KSG with too few samples for its k, ...) raises a typed error; ``auto`` leaves it
out, records why in ``extra["failed"]`` and takes the maximum of the others. Only when every
component fails does ``auto`` fail, naming each reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from infofusion.errors import EstimationError
from infofusion.interfaces import Estimate
from infofusion.measures.mi.base import MIEstimatorBase, check, standardize
from infofusion.measures.mi.gaussian import GaussianEstimator
from infofusion.measures.mi.ksg import KSGEstimator
from infofusion.registry import register


@dataclass(frozen=True)
class AutoParams:
    """Parameters of ``auto``.

    Attributes:
        k: neighbours of the KSG component.
        neural: include the held-out InfoNCE component (slower; unconditional MI only).
        neural_steps: training steps of the InfoNCE component at most.
        seed: seed of every component.
    """

    k: int = 5
    neural: bool = True
    neural_steps: int = 3000
    seed: int = 0

    def __post_init__(self) -> None:
        check(isinstance(self.k, int) and self.k >= 1, "k", self.k, "an integer >= 1")
        check(self.neural_steps >= 1, "neural_steps", self.neural_steps, ">= 1")


def _norm(a: np.ndarray) -> np.ndarray:
    """Euclidean norm of each standardised row: ``(N, D)`` -> ``(N,)``."""
    return np.linalg.norm(standardize(a), axis=1)


@register(
    "estimator",
    "auto",
    help="Default: the largest of Gaussian-copula, KSG, radial KSG and InfoNCE estimates.",
)
class AutoEstimator(MIEstimatorBase):
    """The default estimator: max of Gaussian-copula, KSG, radial KSG and held-out InfoNCE."""

    name = "auto"
    Params = AutoParams
    supports_conditional = True
    min_samples = 20

    def _components(self, conditional: bool) -> dict[str, MIEstimatorBase]:
        p: AutoParams = self._params
        comps: dict[str, MIEstimatorBase] = {
            "gcmi": GaussianEstimator(copula=True),
            "ksg": KSGEstimator(k=p.k, seed=p.seed),
        }
        if p.neural and not conditional:
            from infofusion.measures.mi.neural import InfoNCEEstimator

            # on the BMI panel, 50 % held out left the critic too little data to follow the
            # spiral; rank-normalised inputs and the norms helped both spiral and Student-t
            comps["infonce"] = InfoNCEEstimator(
                copula=True,
                radial=True,
                test_fraction=0.3,
                max_steps=p.neural_steps,
                seed=p.seed,
                progress=self.progress,
            )
        return comps

    def _estimate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray | None) -> Estimate:
        p: AutoParams = self._params
        comps: list[tuple[str, MIEstimatorBase, tuple]] = [
            (name, est, (x, y, z)) for name, est in self._components(z is not None).items()
        ]
        if max(x.shape[1], y.shape[1]) > 1:
            comps.append(("radial", KSGEstimator(k=p.k, seed=p.seed), (_norm(x), _norm(y), z)))
        results: dict[str, Estimate] = {}
        failed: dict[str, str] = {}
        for name, est, args in comps:
            self._report(0, 0, name)
            try:
                with warnings.catch_warnings():
                    # a component's own warnings (an InfoNCE critic below 0) are recorded below
                    warnings.simplefilter("ignore")
                    results[name] = est.estimate(*args)
            except EstimationError as exc:
                failed[name] = str(exc)
        if not results:
            reasons = "; ".join(f"{k}: {v}" for k, v in failed.items())
            raise EstimationError(f"every component of 'auto' failed ({reasons})")
        best = max(results, key=lambda k: results[k].value)
        chosen = results[best]
        extra = {
            "chosen": best,
            "components": {
                k: {"value": r.value, "stderr": r.stderr, "seconds": r.seconds}
                for k, r in results.items()
            },
        }
        if failed:
            extra["failed"] = failed
        return Estimate(value=chosen.value, stderr=chosen.stderr, extra=extra)
