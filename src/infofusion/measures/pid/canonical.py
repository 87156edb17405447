"""Canonical distributions with known BROJA atoms (bits), as ``(n1, n2, ny)`` arrays.

* XOR: Y = X1 xor X2 -- 1 bit of synergy.
* RDN: X1 = X2 = Y, one uniform bit -- 1 bit of redundancy.
* UNQ: X1 = Y, X2 an independent bit -- 1 bit unique to X1.
* AND: Y = X1 and X2 -- R = 0.3113 (= I(X1;Y)), S = 0.5.
* COPY: Y = (X1, X2), independent uniform bits -- 1 bit unique to each source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _table(rule, n1: int = 2, n2: int = 2, ny: int = 2) -> np.ndarray:
    p = np.zeros((n1, n2, ny))
    for a in range(n1):
        for b in range(n2):
            p[a, b, rule(a, b)] += 1.0
    return p / p.sum()


def xor() -> np.ndarray:
    return _table(lambda a, b: a ^ b)


def rdn() -> np.ndarray:
    p = np.zeros((2, 2, 2))
    p[0, 0, 0] = p[1, 1, 1] = 0.5
    return p


def unq() -> np.ndarray:
    return _table(lambda a, b: a)


def and_() -> np.ndarray:
    return _table(lambda a, b: a & b)


def copy() -> np.ndarray:
    return _table(lambda a, b: 2 * a + b, ny=4)


# I(X1;Y) for AND, all of it redundant: 1.5 - 0.75 log2 3 = 0.3113 bits
_AND_R = 1.5 - 0.75 * math.log2(3.0)

#: name -> (distribution factory, BROJA atoms in bits)
CANONICAL: dict[str, tuple] = {
    "xor": (xor, {"R": 0.0, "U1": 0.0, "U2": 0.0, "S": 1.0}),
    "rdn": (rdn, {"R": 1.0, "U1": 0.0, "U2": 0.0, "S": 0.0}),
    "unq": (unq, {"R": 0.0, "U1": 1.0, "U2": 0.0, "S": 0.0}),
    "and": (and_, {"R": _AND_R, "U1": 0.0, "U2": 0.0, "S": 0.5}),
    "copy": (copy, {"R": 0.0, "U1": 1.0, "U2": 1.0, "S": 0.0}),
}


def get(name: str) -> np.ndarray:
    """The canonical distribution called ``name`` (xor, rdn, unq, and, copy)."""
    return CANONICAL[name.lower()][0]()


def known_atoms(name: str) -> dict[str, float]:
    """Its BROJA atoms in bits."""
    return dict(CANONICAL[name.lower()][1])


# ---------------------------------------------------------------------------------------------
# Generated families for validation sweeps
# ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One generated distribution of a validation sweep.

    Attributes:
        family: the family it was drawn from (see :func:`sweep`).
        p: ``(n1, n2, ny)`` joint distribution.
        atoms: closed-form BROJA atoms in bits, or ``None`` where no closed form is known
            (compare with an independent solver there).
    """

    family: str
    p: np.ndarray
    atoms: dict[str, float] | None


def _mi_bits(p: np.ndarray) -> dict[str, float]:
    from infofusion.measures.pid._info import LN2, mutual_informations

    return {k: v / LN2 for k, v in mutual_informations(p).items()}


def _normalise(p: np.ndarray) -> np.ndarray:
    return p / p.sum()


def _draw_shape(rng: np.random.Generator, max_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    # log-uniform sizes, so small and large alphabets are both common
    def size(hi: int, lo: int = 2) -> int:
        return int(np.exp(rng.uniform(np.log(lo), np.log(hi + 1))))

    return size(max_shape[0]), size(max_shape[1]), size(max_shape[2])


def _family(name: str, rng: np.random.Generator, shape: tuple[int, int, int]) -> Case:
    n1, n2, ny = shape
    if name == "dirichlet":
        alpha = float(rng.choice([0.3, 1.0, 5.0]))
        return Case(name, rng.dirichlet(np.full(n1 * n2 * ny, alpha)).reshape(shape), None)
    if name == "near_deterministic":
        # Dirichlet(0.02): most cells carry almost nothing, a few carry almost everything
        p = rng.dirichlet(np.full(n1 * n2 * ny, 0.02)).reshape(shape)
        return Case(name, _normalise(p + 1e-300), None)
    if name == "structural_zeros":
        p = rng.random(shape) * (rng.random(shape) < rng.uniform(0.1, 0.5))
        p.flat[rng.integers(p.size)] += 1.0  # never all zero
        return Case(name, _normalise(p), None)
    if name == "ten_decades":
        # marginals of X1, X2 and Y spread over ten orders of magnitude
        w1, w2, wy = (10.0 ** -rng.uniform(0, 10, n) for n in (n1, n2, ny))
        p = w1[:, None, None] * w2[None, :, None] * wy[None, None, :] * rng.random(shape)
        return Case(name, _normalise(p), None)
    if name == "deterministic_y":
        f = rng.integers(0, ny, (n1, n2))
        p = np.zeros(shape)
        p[np.arange(n1)[:, None], np.arange(n2)[None, :], f] = rng.dirichlet(np.ones(n1 * n2)).reshape(n1, n2)
        return Case(name, p, None)
    if name == "copy_x1_x2":
        # X1 == X2: everything is redundant, R = I(X;Y), U1 = U2 = S = 0
        pxy = rng.dirichlet(np.full(n1 * ny, float(rng.choice([0.2, 1.0, 5.0])))).reshape(n1, ny)
        p = np.zeros((n1, n1, ny))
        p[np.arange(n1), np.arange(n1)] = pxy
        mi = _mi_bits(p)
        return Case(name, p, {"R": mi["I(X1;Y)"], "U1": 0.0, "U2": 0.0, "S": 0.0})
    if name == "function_x2_of_x1":
        # X2 = g(X1): Y is independent of X2 given X1, so R = I(X2;Y), U1 = I(X1;Y) - I(X2;Y)
        g = rng.integers(0, n2, n1)
        pxy = rng.dirichlet(np.full(n1 * ny, float(rng.choice([0.2, 1.0, 5.0])))).reshape(n1, ny)
        p = np.zeros(shape)
        p[np.arange(n1), g] = pxy
        mi = _mi_bits(p)
        return Case(name, p, {"R": mi["I(X2;Y)"], "U1": mi["I(X1;Y)"] - mi["I(X2;Y)"], "U2": 0.0, "S": 0.0})
    if name == "x1_independent_of_y":
        # p(x1) p(y) p(x2 | x1, y): I(X1;Y) = 0, so R = U1 = 0, U2 = I(X2;Y), S = I12 - I(X2;Y)
        px1 = rng.dirichlet(np.ones(n1))
        py = rng.dirichlet(np.ones(ny))
        cond = rng.dirichlet(np.full(n2, 0.5), size=(n1, ny)).transpose(0, 2, 1)  # (n1, n2, ny)
        p = px1[:, None, None] * py[None, None, :] * cond
        mi = _mi_bits(p)
        return Case(name, p, {"R": 0.0, "U1": 0.0, "U2": mi["I(X2;Y)"], "S": mi["I(X1,X2;Y)"] - mi["I(X2;Y)"]})
    if name == "copy_target":
        # Y = (X1, X2) with dependent sources: R = I(X1;X2), U1 = H(X1|X2), U2 = H(X2|X1), S = 0
        m1, m2 = max(2, min(n1, 6)), max(2, min(n2, 6))
        pxx = rng.dirichlet(np.full(m1 * m2, float(rng.choice([0.3, 1.0, 5.0])))).reshape(m1, m2)
        p = np.zeros((m1, m2, m1 * m2))
        p[np.arange(m1)[:, None], np.arange(m2)[None, :], np.arange(m1 * m2).reshape(m1, m2)] = pxx
        ent = lambda a: float(-(a[a > 0] * np.log2(a[a > 0])).sum())  # noqa: E731
        h12, h1, h2 = ent(pxx), ent(pxx.sum(1)), ent(pxx.sum(0))
        return Case(name, p, {"R": h1 + h2 - h12, "U1": h12 - h2, "U2": h12 - h1, "S": 0.0})
    if name == "near_copy_x1_x2":
        # X1 == X2 mixed with a little independent noise (no closed form, nearly degenerate)
        pxy = rng.dirichlet(np.ones(n1 * ny)).reshape(n1, ny)
        p = np.zeros((n1, n1, ny))
        p[np.arange(n1), np.arange(n1)] = pxy
        eps = 10.0 ** -rng.uniform(3, 9)
        return Case(name, _normalise((1 - eps) * p + eps * _normalise(rng.random((n1, n1, ny)))), None)
    raise ValueError(f"unknown family {name!r}")


#: families of :func:`sweep`, in order
FAMILIES = (
    "dirichlet",
    "near_deterministic",
    "structural_zeros",
    "ten_decades",
    "deterministic_y",
    "copy_x1_x2",
    "function_x2_of_x1",
    "x1_independent_of_y",
    "copy_target",
    "near_copy_x1_x2",
)


def sweep(
    per_family: int = 30,
    *,
    seed: int = 0,
    max_shape: tuple[int, int, int] = (40, 40, 8),
    families: tuple[str, ...] = FAMILIES,
) -> list[Case]:
    """Generated distributions for validating a PID solver, ``per_family`` of each family.

    Families: ``dirichlet`` (random, concentration 0.3 / 1 / 5), ``near_deterministic``
    (Dirichlet 0.02), ``structural_zeros`` (50-90% of the cells zero), ``ten_decades``
    (marginals spread over ten orders of magnitude), ``deterministic_y`` (``Y = f(X1, X2)``),
    ``copy_x1_x2`` (``X1 == X2``), ``function_x2_of_x1`` (``X2 = g(X1)``),
    ``x1_independent_of_y``, ``copy_target`` (``Y = (X1, X2)``) and ``near_copy_x1_x2``
    (``X1 == X2`` plus noise of weight 1e-9..1e-3). The first, and every fifth case of a family
    have the largest shape ``max_shape``; the others are drawn log-uniformly up to it. Cases
    with a closed form carry their atoms.
    """
    rng = np.random.default_rng(seed)
    out = []
    for name in families:
        for i in range(per_family):
            shape = max_shape if i % 5 == 0 else _draw_shape(rng, max_shape)
            out.append(_family(name, rng, shape))
    return out
