"""Canonical distributions with known BROJA atoms (bits), as ``(n1, n2, ny)`` arrays.

* XOR: Y = X1 xor X2 -- 1 bit of synergy.
* RDN: X1 = X2 = Y, one uniform bit -- 1 bit of redundancy.
* UNQ: X1 = Y, X2 an independent bit -- 1 bit unique to X1.
* AND: Y = X1 and X2 -- R = 0.3113 (= I(X1;Y)), S = 0.5.
* COPY: Y = (X1, X2), independent uniform bits -- 1 bit unique to each source.
"""

from __future__ import annotations

import math

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
