r"""Meta-dataset of the learned estimator ``mist``: joint distributions with known MI (nats).

Each draw is a *task* — a family, a marginal transform, the dimensions ``(d_x, d_y)`` and the
family's parameters, from which the exact :math:`I(X; Y)` follows in closed form — and a sample
of ``n`` rows from it. The estimator learns to map samples to the known MI.

Families (``d_x, d_y`` in 1..8, independently; ``k = min(d_x, d_y)``):

* ``normal-dense``, ``normal-sparse``, ``normal-lowrank``: a Gaussian in canonical form —
  pairs :math:`(u_i, v_i)` with correlations :math:`\rho_i` (``i < k``), other coordinates
  independent — then an invertible linear map on each side (``dense``: all ``k`` pairs
  correlated and random mixing matrices; ``lowrank``: one or two pairs and random mixing, a
  latent-variable model; ``sparse``: a few pairs, no mixing, at random column positions).
  :math:`I = -\tfrac12 \sum_i \log(1 - \rho_i^2)`: linear maps of one side leave MI unchanged.
* ``student-dense``, ``student-sparse``, ``student-identity``: the same Gaussian divided, row
  by row, by :math:`\sqrt{w/\nu}` with :math:`w \sim \chi^2_\nu` shared by X and Y (a
  multivariate Student-t with ``nu`` degrees of freedom). Its MI is the Gaussian part plus a
  term from the shared scale,

  .. math::

      I = -\tfrac12 \sum_i \log(1 - \rho_i^2) + g(d_x) + g(d_y) - g(d_x + d_y),\quad
      g(d) = \log\Gamma(\tfrac\nu2) - \log\Gamma(\tfrac{\nu + d}2)
             + \tfrac{\nu + d}2 \left[\psi(\tfrac{\nu + d}2) - \psi(\tfrac\nu2)\right],

  (the differential entropy of a multivariate t; its marginals are t with the same ``nu``).
  ``student-identity`` has no correlation at all (:math:`\rho = 0`): all its MI is in the scale.
* ``uniform-noise``: pairs :math:`x_i \sim U(0, 1)`, :math:`y_i = x_i + U(0, a_i)` (other
  coordinates independent uniforms), optionally mixed linearly on each side;
  :math:`I(x_i; y_i) = a_i/2 - \log a_i` for :math:`a_i \le 1` and :math:`1/(2 a_i)` above.

Marginal transforms (per column, strictly increasing, so MI is unchanged): ``none``,
``half-cube`` (:math:`x\sqrt{|x|}`), ``asinh``, ``wiggly`` (:math:`x + \sum_j a_j
\sin(f_j x + \phi_j)` with random terms, :math:`\sum_j |a_j| f_j < 1`), applied to columns
first scaled by their median and inter-quartile range.

Targets: with probability ``p_independent`` a Gaussian or uniform task is independent (MI 0);
otherwise the MI is drawn uniformly on ``[0, mi_max]`` and the family's parameters are solved
for it (a Dirichlet split over the correlated pairs).

What is left out on purpose: the 9 tasks of the benchmark panel (``benchmarks/mi_benchmark.py``)
are never generated. Three of them belong to no family here (the X mixture, the spiral, the
sparse Gaussian with inliers), one is out of range (25 x 25) and the others are excluded by
:func:`panel_overlap`, which rejects every draw within a tolerance of a panel task *up to
invertible maps of each side* (for Gaussians: same dimensions and canonical correlations within
0.05; for the Student-t tasks: same dimensions, identity dispersion and ``nu`` within 0.25 / 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln, lambertw, psi

FAMILIES = (
    "normal-dense",
    "normal-sparse",
    "normal-lowrank",
    "student-dense",
    "student-sparse",
    "student-identity",
    "uniform-noise",
)
TRANSFORMS = ("none", "half-cube", "asinh", "wiggly")

# Panel tasks that a family here could come close to, as (dims, canonical correlations) for
# Gaussians and (dims, nu, tolerance on nu) for Student-t with identity dispersion. The
# canonical correlations were computed from BMI's covariance matrices: equicorrelation 0.5 at
# 5 x 5 has a single canonical correlation 5/6; the sparse task has two pairs at 0.8.
PANEL_GAUSSIANS = {
    "1v1-normal-0.75": ((1, 1), (0.75,)),
    "multinormal-dense-5-5-0.5": ((5, 5), (5 / 6, 0.0, 0.0, 0.0, 0.0)),
    "multinormal-sparse-5-5-2-2.0": ((5, 5), (0.8, 0.8, 0.0, 0.0, 0.0)),
}
PANEL_STUDENT_IDENTITY = {
    "asinh-student-identity-1-1-1": ((1, 1), 1.0, 0.25),
    "asinh-student-identity-5-5-2": ((5, 5), 2.0, 0.5),
}
PANEL_TOLERANCE = 0.05


@dataclass(frozen=True)
class MetaConfig:
    """Range of the meta-distribution.

    Attributes:
        n_min: fewest rows of a dataset.
        n_max: most rows of a dataset.
        d_max: most columns of each side.
        mi_max: largest target MI (nats).
        p_independent: probability of an independent Gaussian or uniform task.
        families: the families drawn (uniformly).
        transforms: the marginal transforms drawn (uniformly).
    """

    n_min: int = 32
    n_max: int = 256
    d_max: int = 8
    mi_max: float = 2.5
    p_independent: float = 0.1
    families: tuple[str, ...] = FAMILIES
    transforms: tuple[str, ...] = TRANSFORMS

    def __post_init__(self) -> None:
        if not 2 <= self.n_min <= self.n_max:
            raise ValueError(f"need 2 <= n_min <= n_max, got {self.n_min}, {self.n_max}")
        unknown = sorted(set(self.families) - set(FAMILIES)) + sorted(
            set(self.transforms) - set(TRANSFORMS)
        )
        if unknown:
            raise ValueError(f"unknown families/transforms {unknown}")


@dataclass
class TaskSpec:
    """One joint distribution with its exact MI.

    Attributes:
        family: one of :data:`FAMILIES`.
        transform: one of :data:`TRANSFORMS`.
        dx, dy: dimensions of X and Y.
        mi: exact :math:`I(X; Y)` in nats.
        rho: ``(k,)`` canonical correlations (Gaussian and Student-t families).
        nu: degrees of freedom (Student-t families).
        widths: ``(p,)`` noise widths of the uniform pairs.
        mix_x, mix_y: ``(d, d)`` invertible maps applied to the rows (``None``: identity).
        perm_x, perm_y: column permutations.
        wiggle: per column of ``[x, y]``, ``(amplitudes, frequencies, phases)`` of ``wiggly``.
    """

    family: str
    transform: str
    dx: int
    dy: int
    mi: float
    rho: np.ndarray = field(default_factory=lambda: np.zeros(0))
    nu: float = math.inf
    widths: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mix_x: np.ndarray | None = None
    mix_y: np.ndarray | None = None
    perm_x: np.ndarray | None = None
    perm_y: np.ndarray | None = None
    wiggle: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary (family, transform, dims, MI and scalar parameters)."""
        return {
            "family": self.family,
            "transform": self.transform,
            "dx": self.dx,
            "dy": self.dy,
            "mi": self.mi,
            "rho": [float(r) for r in self.rho],
            "nu": None if math.isinf(self.nu) else self.nu,
            "widths": [float(w) for w in self.widths],
        }


# ------------------------------------------------------------------------------ closed forms


def gaussian_mi(rho: np.ndarray) -> float:
    """:math:`-\\tfrac12 \\sum_i \\log(1 - \\rho_i^2)` for canonical correlations ``rho``."""
    rho = np.asarray(rho, dtype=np.float64)
    return float(-0.5 * np.sum(np.log1p(-(rho**2))))


def _t_entropy_term(nu: float, d: int) -> float:
    h = 0.5 * (nu + d)
    return float(gammaln(0.5 * nu) - gammaln(h) + h * (psi(h) - psi(0.5 * nu)))


def student_t_mi(rho: np.ndarray, nu: float, dx: int, dy: int) -> float:
    """MI of a multivariate Student-t whose dispersion has canonical correlations ``rho``."""
    tail = _t_entropy_term(nu, dx) + _t_entropy_term(nu, dy) - _t_entropy_term(nu, dx + dy)
    return gaussian_mi(rho) + tail


def uniform_noise_mi(widths: np.ndarray) -> float:
    """Sum over pairs of :math:`I(x; x + U(0, a))` with :math:`x \\sim U(0, 1)`."""
    a = np.asarray(widths, dtype=np.float64)
    per = np.where(a <= 1, a / 2 - np.log(np.minimum(a, 1.0)), 1 / (2 * a))
    return float(per.sum())


def uniform_width_for(mi: float) -> float:
    """The noise width ``a`` whose pair has MI ``mi`` (inverse of :func:`uniform_noise_mi`)."""
    if mi <= 0:
        return math.inf
    if mi < 0.5:
        return 1 / (2 * mi)
    # a/2 - log a = mi  <=>  a = -2 W0(-exp(-mi)/2)
    return float(-2 * lambertw(-math.exp(-mi) / 2, 0).real)


# ------------------------------------------------------------------------------ panel check


def panel_overlap(spec: TaskSpec) -> str | None:
    """Name of the benchmark-panel task ``spec`` is too close to (``None``: none).

    Compared up to invertible maps of each side: Gaussians by dimensions and sorted canonical
    correlations (max difference :data:`PANEL_TOLERANCE`), Student-t with (near-)identity
    dispersion by dimensions and ``nu``. Transforms are ignored (they leave MI and, after
    rank normalisation, the data unchanged), so every transform of a panel task is excluded.
    """
    dims = (spec.dx, spec.dy)
    k = min(dims)
    rho = np.zeros(k)
    rho[: len(spec.rho)] = np.sort(np.abs(spec.rho))[::-1][:k]
    if spec.family.startswith("normal"):
        for name, (pdims, prho) in PANEL_GAUSSIANS.items():
            if (
                sorted(dims) == sorted(pdims)
                and np.max(np.abs(rho - np.asarray(prho))) <= PANEL_TOLERANCE
            ):
                return name
    if spec.family.startswith("student"):
        for name, (pdims, pnu, tol) in PANEL_STUDENT_IDENTITY.items():
            if (
                sorted(dims) == sorted(pdims)
                and abs(spec.nu - pnu) <= tol
                and (k == 0 or np.max(rho) <= PANEL_TOLERANCE)
            ):
                return name
    return None


# ------------------------------------------------------------------------------ drawing tasks


def _random_invertible(rng: np.random.Generator, d: int) -> np.ndarray:
    """Orthogonal x diag(scales in [0.3, 3]) x orthogonal: condition number at most 10."""
    q1, _ = np.linalg.qr(rng.standard_normal((d, d)))
    q2, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return q1 @ np.diag(np.exp(rng.uniform(np.log(0.3), np.log(3.0), d))) @ q2


def _split(rng: np.random.Generator, total: float, parts: int) -> np.ndarray:
    return total * rng.dirichlet(np.ones(parts)) if parts > 1 else np.array([total])


def _rho_for(mis: np.ndarray) -> np.ndarray:
    """Canonical correlations with per-pair MI ``mis``: :math:`\\sqrt{1 - e^{-2 I}}`."""
    return np.sqrt(-np.expm1(-2 * np.asarray(mis)))


def random_task(
    rng: np.random.Generator,
    cfg: MetaConfig = MetaConfig(),
    family: str | None = None,
    transform: str | None = None,
    dims: tuple[int, int] | None = None,
    mi: float | None = None,
    max_tries: int = 1000,
) -> TaskSpec:
    """Draw a task from the meta-distribution (any argument given is held fixed).

    Args:
        rng: the random stream.
        cfg: the meta-distribution's range.
        family, transform: fix the family / transform (else uniform over ``cfg``'s).
        dims: fix ``(d_x, d_y)`` (else each uniform on ``1..cfg.d_max``).
        mi: fix the target MI (else 0 with probability ``p_independent``, or uniform on
            ``[0, mi_max]``). Ignored by ``student-identity``, whose MI follows from ``nu``.
        max_tries: redraws allowed when a draw lands on a panel task or above ``mi_max``.

    Returns:
        A :class:`TaskSpec` that :func:`panel_overlap` accepts.
    """
    for _ in range(max_tries):
        spec = _draw(rng, cfg, family, transform, dims, mi)
        if spec is not None and panel_overlap(spec) is None:
            return spec
    raise ValueError(
        f"no task found in {max_tries} draws for family={family}, dims={dims}, mi={mi} "
        "(outside the meta-distribution or on a benchmark-panel task)"
    )


def _draw(
    rng: np.random.Generator,
    cfg: MetaConfig,
    family: str | None,
    transform: str | None,
    dims: tuple[int, int] | None,
    mi: float | None,
) -> TaskSpec | None:
    fam = family or cfg.families[rng.integers(len(cfg.families))]
    tr = transform or cfg.transforms[rng.integers(len(cfg.transforms))]
    dx, dy = dims or (int(rng.integers(1, cfg.d_max + 1)), int(rng.integers(1, cfg.d_max + 1)))
    k = min(dx, dy)
    if mi is None:
        independent = fam in (
            "normal-dense",
            "normal-sparse",
            "normal-lowrank",
            "uniform-noise",
        ) and (rng.random() < cfg.p_independent)
        target = 0.0 if independent else float(rng.uniform(0, cfg.mi_max))
    else:
        target = float(mi)
    spec = TaskSpec(family=fam, transform=tr, dx=dx, dy=dy, mi=target)

    def pairs(at_most: int) -> int:
        return int(rng.integers(1, min(at_most, k) + 1))

    if fam.startswith("student"):
        spec.nu = float(np.exp(rng.uniform(0.0, np.log(30.0))))  # log-uniform on [1, 30]
        tail = student_t_mi(np.zeros(0), spec.nu, dx, dy)
        if fam == "student-identity":
            spec.rho = np.zeros(k)
            spec.mi = tail
            if mi is not None and abs(tail - mi) > 1e-9:
                # solve for nu: the tail term decreases monotonically in nu
                lo, hi = 1e-3, 1e6
                if (
                    not student_t_mi(np.zeros(0), hi, dx, dy)
                    < mi
                    < student_t_mi(np.zeros(0), lo, dx, dy)
                ):
                    return None
                for _ in range(200):
                    mid = math.sqrt(lo * hi)
                    if student_t_mi(np.zeros(0), mid, dx, dy) > mi:
                        lo = mid
                    else:
                        hi = mid
                spec.nu = math.sqrt(lo * hi)
                spec.mi = student_t_mi(np.zeros(0), spec.nu, dx, dy)
        else:
            if mi is None:
                if tail > cfg.mi_max:
                    return None
                target = float(rng.uniform(tail, cfg.mi_max))
            if target < tail:
                return None
            p = k if fam == "student-dense" else pairs(2)
            spec.rho = _rho_for(_split(rng, target - tail, p))
            spec.mi = student_t_mi(spec.rho, spec.nu, dx, dy)
    elif fam.startswith("normal"):
        p = {"normal-dense": k, "normal-lowrank": pairs(2), "normal-sparse": pairs(3)}[fam]
        spec.rho = _rho_for(_split(rng, target, p)) if target > 0 else np.zeros(0)
        spec.mi = gaussian_mi(spec.rho)
    else:  # uniform-noise
        p = pairs(k)
        if target > 0:
            spec.widths = np.array([uniform_width_for(m) for m in _split(rng, target, p)])
        spec.mi = uniform_noise_mi(spec.widths)
    if mi is None and spec.mi > cfg.mi_max + 1e-9:
        return None
    mixing = fam in ("normal-dense", "normal-lowrank", "student-dense") or (
        fam == "uniform-noise" and rng.random() < 0.5
    )
    if mixing:
        spec.mix_x, spec.mix_y = _random_invertible(rng, dx), _random_invertible(rng, dy)
    spec.perm_x, spec.perm_y = rng.permutation(dx), rng.permutation(dy)
    if tr == "wiggly":
        spec.wiggle = [_random_wiggle(rng) for _ in range(dx + dy)]
    return spec


def _random_wiggle(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    terms = int(rng.integers(1, 4))
    freqs = rng.uniform(0.5, 4.0, terms)
    amps = rng.dirichlet(np.ones(terms)) * rng.uniform(0.3, 0.95) / freqs  # sum |a| f < 1
    return amps * rng.choice([-1.0, 1.0], terms), freqs, rng.uniform(0, 2 * np.pi, terms)


# ------------------------------------------------------------------------------ sampling


def sample_task(spec: TaskSpec, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ``spec``: ``x`` of shape ``(n, dx)`` and ``y`` of shape ``(n, dy)``."""
    dx, dy = spec.dx, spec.dy
    if spec.family == "uniform-noise":
        x = rng.uniform(0, 1, (n, dx))
        y = rng.uniform(0, 1, (n, dy))
        for i, a in enumerate(spec.widths):
            y[:, i] = x[:, i] + a * rng.uniform(0, 1, n)
    else:
        x = rng.standard_normal((n, dx))
        y = rng.standard_normal((n, dy))
        p = len(spec.rho)
        if p:
            r = spec.rho[None, :]
            y[:, :p] = r * x[:, :p] + np.sqrt(1 - r**2) * y[:, :p]
        if spec.family.startswith("student"):
            scale = np.sqrt(rng.chisquare(spec.nu, (n, 1)) / spec.nu)
            x, y = x / scale, y / scale
    if spec.mix_x is not None:
        x = x @ spec.mix_x
    if spec.mix_y is not None:
        y = y @ spec.mix_y
    if spec.perm_x is not None:
        x = x[:, spec.perm_x]
    if spec.perm_y is not None:
        y = y[:, spec.perm_y]
    if spec.transform != "none":
        x = _transform(x, spec, 0)
        y = _transform(y, spec, dx)
    return x, y


def _transform(a: np.ndarray, spec: TaskSpec, offset: int) -> np.ndarray:
    med = np.median(a, axis=0)
    iqr = np.subtract(*np.percentile(a, [75, 25], axis=0))
    a = (a - med) / np.where(iqr > 0, iqr, 1.0)
    if spec.transform == "half-cube":
        return a * np.sqrt(np.abs(a))
    if spec.transform == "asinh":
        return np.arcsinh(a)
    out = a.copy()
    for j in range(a.shape[1]):
        amps, freqs, phases = spec.wiggle[offset + j]
        out[:, j] += (amps * np.sin(a[:, j : j + 1] * freqs + phases)).sum(axis=1)
    return out


def random_dataset(
    rng: np.random.Generator, cfg: MetaConfig = MetaConfig(), n: int | None = None, **task: Any
) -> tuple[np.ndarray, np.ndarray, TaskSpec]:
    """A task from :func:`random_task` and ``n`` rows of it (``n`` uniform on the range if None)."""
    spec = random_task(rng, cfg, **task)
    rows = int(rng.integers(cfg.n_min, cfg.n_max + 1)) if n is None else n
    x, y = sample_task(spec, rows, rng)
    return x, y, spec
