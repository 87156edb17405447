"""PID from samples: plug-in atoms, a label-permutation null, bias correction and bootstrap CIs.

Plug-in PID on clustered data is biased upwards on small samples (synergy especially: with
30 x 30 x 2 cells and N = 1000 independent samples the plug-in synergy is ~0.6 bits). The null
level of each atom is estimated by permuting the target against the (X1, X2) pairs, which keeps
the sources' own dependence but removes every true atom; the corrected estimate is the plug-in
atom minus the mean null atom. Bootstrap resamples give the spread, and the interval is centred
on the corrected estimate (the resamples' own extra bias cancels in ``q - mean(boot)``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from infofusion.errors import EstimationError
from infofusion.measures.pid._info import joint_from_labels
from infofusion.measures.pid.base import ATOMS, PIDMeasure, PIDResult


@dataclass
class AtomEstimate:
    """One atom estimated from samples (bits).

    Attributes:
        value: bias-corrected estimate (plug-in minus mean null level).
        plugin: the plug-in value.
        null_mean: mean of the atom under the label-permutation null.
        null_q95: 95th percentile of the null (a plug-in value above it is signal).
        ci: bootstrap interval of the corrected value at ``ci_level``.
        stderr: bootstrap standard deviation.
    """

    value: float
    plugin: float
    null_mean: float
    null_q95: float
    ci: tuple[float, float]
    stderr: float


@dataclass
class PIDEstimate:
    """Dataset-level atoms with uncertainty and null level, in bits."""

    atoms: dict[str, AtomEstimate]
    plugin: PIDResult
    n: int
    shape: tuple[int, int, int]
    measure: str
    n_boot: int
    n_perm: int
    ci_level: float
    seed: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        """Corrected atoms ``{"R", "U1", "U2", "S"}``."""
        return {k: a.value for k, a in self.atoms.items()}

    def dominant(self) -> str:
        """The atom with the largest corrected value."""
        return max(self.atoms, key=lambda k: self.atoms[k].value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _measure(measure: str | PIDMeasure) -> PIDMeasure:
    if isinstance(measure, PIDMeasure):
        return measure
    from infofusion.registry import create

    return create("pid", measure, check=False)


def estimate_pid(
    x1: np.ndarray,
    x2: np.ndarray,
    y: np.ndarray,
    *,
    measure: str | PIDMeasure = "broja",
    n_boot: int = 100,
    n_perm: int = 50,
    ci_level: float = 0.95,
    seed: int = 0,
) -> PIDEstimate:
    """PID of three discrete label arrays with null level and bootstrap intervals.

    Args:
        x1, x2, y: ``(N,)`` integer labels (cluster indices for continuous modalities).
        measure: registry name (``"broja"``, ``"imin"``, ``"mmi"``) or a measure instance.
        n_boot: bootstrap resamples (0 disables intervals).
        n_perm: label permutations for the null level (0 disables the correction).
        ci_level: interval coverage.
        seed: seed of permutations and resamples.

    Returns:
        :class:`PIDEstimate` whose atoms are bias-corrected, each with its null level.
    """
    start = time.perf_counter()
    a, b, c = (np.unique(np.asarray(v).ravel(), return_inverse=True)[1] for v in (x1, x2, y))
    n = len(a)
    if n < 2:
        raise EstimationError(f"need at least 2 samples for a PID estimate, got {n}")
    shape = (int(a.max()) + 1, int(b.max()) + 1, int(c.max()) + 1)
    pid = _measure(measure)
    rng = np.random.default_rng(seed)

    def atoms_of(ia: np.ndarray, ib: np.ndarray, ic: np.ndarray) -> np.ndarray:
        return pid.decompose(joint_from_labels(ia, ib, ic, shape)).as_array()

    plugin = pid.decompose(joint_from_labels(a, b, c, shape))
    base = plugin.as_array()
    null = np.array([atoms_of(a, b, c[rng.permutation(n)]) for _ in range(n_perm)])
    null_mean = null.mean(axis=0) if n_perm else np.zeros(4)
    null_q95 = np.quantile(null, 0.95, axis=0) if n_perm else np.full(4, np.nan)
    corrected = base - null_mean
    boot = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        boot.append(atoms_of(a[idx], b[idx], c[idx]))
    alpha = (1.0 - ci_level) / 2.0
    atoms: dict[str, AtomEstimate] = {}
    if n_boot:
        bt = np.array(boot)
        centre = bt.mean(axis=0)
        lo = corrected + (np.quantile(bt, alpha, axis=0) - centre)
        hi = corrected + (np.quantile(bt, 1.0 - alpha, axis=0) - centre)
        sd = bt.std(axis=0, ddof=1)
    else:
        lo = hi = corrected
        sd = np.full(4, np.nan)
    for i, k in enumerate(ATOMS):
        atoms[k] = AtomEstimate(
            value=float(corrected[i]),
            plugin=float(base[i]),
            null_mean=float(null_mean[i]),
            null_q95=float(null_q95[i]),
            ci=(float(lo[i]), float(hi[i])),
            stderr=float(sd[i]),
        )
    return PIDEstimate(
        atoms=atoms, plugin=plugin, n=n, shape=shape, measure=pid.name, n_boot=n_boot,
        n_perm=n_perm, ci_level=ci_level, seed=seed, seconds=time.perf_counter() - start,
    )
