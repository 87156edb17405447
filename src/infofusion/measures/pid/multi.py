"""Interaction measures for M >= 3 modalities on discrete (clustered) data, in bits.

There is no agreed PID for more than two sources (the redundancy lattice grows super-
exponentially and no measure satisfies all desired axioms), so this module reports three
quantities with stated limits instead of a full lattice:

* **each vs the rest**: the BROJA PID of ``(X_i, X_{-i}; Y)`` with the other modalities merged
  into one variable. ``U_i`` is the information only X_i has (not recoverable from *any*
  combination of the others) -- a lower bound on what a full lattice would call X_i's unique
  information; the pair's ``S`` mixes every synergy that involves X_i. Merging the rest
  multiplies alphabet sizes, so clustering with few clusters per modality is advised.
* **co-information** ``sum over non-empty subsets T of {X_1..X_M, Y}`` of
  ``(-1)^{|T|+1} H(T)``. For M = 2 it equals ``R - S`` of any PID, so it shows only the *net*
  balance of redundancy and synergy; for M = 3 (four variables) pure redundancy and pure
  3-way XOR synergy both give +1 bit, so its sign cannot be read without the O-information.
* **O-information** of ``(X_1, ..., X_M, Y)`` (Rosas et al. 2019):
  ``(n - 2) H(all) + sum_j [H(V_j) - H(all but V_j)]``; > 0 redundancy-dominated, < 0
  synergy-dominated. Also a net balance; zero does not mean "no interaction".
* **total** ``I(X_1..X_M; Y)`` and each ``I(X_i; Y)``.

All are plug-in values; the finite-sample bias discussed in :mod:`.estimate` applies (more so,
since the joint alphabet is larger).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from infofusion.errors import EstimationError
from infofusion.measures.pid._info import LN2, joint_from_labels


def _codes(cols: list[np.ndarray]) -> np.ndarray:
    """Merge several integer label columns into one label per distinct combination."""
    stacked = np.stack(cols, axis=1)
    return np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1)


def _entropy_of(cols: list[np.ndarray]) -> float:
    if not cols:
        return 0.0
    counts = np.bincount(_codes(cols)).astype(float)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def multi_pid(
    sources: list[np.ndarray] | dict[str, np.ndarray],
    y: np.ndarray,
    *,
    measure: str = "broja",
) -> dict[str, Any]:
    """Interaction summary of M >= 2 discrete sources about a discrete target.

    Args:
        sources: list (or name -> array) of ``(N,)`` integer labels, one per modality.
        y: ``(N,)`` integer labels.
        measure: PID measure for the each-vs-rest decompositions.

    Returns:
        ``{"total", "mi" (per modality), "vs_rest" (per modality: R, U_i, U_rest, S),
        "unique" (per modality), "co_information", "o_information", "names"}`` in bits.
    """
    from infofusion.registry import create

    if isinstance(sources, dict):
        names = list(sources)
        cols = [np.asarray(sources[k]).astype(np.int64).ravel() for k in names]
    else:
        cols = [np.asarray(s).astype(np.int64).ravel() for s in sources]
        names = [f"m{i + 1}" for i in range(len(cols))]
    y = np.asarray(y).astype(np.int64).ravel()
    if len(cols) < 2:
        raise EstimationError("multi_pid needs at least two modalities")
    if any(len(c) != len(y) for c in cols):
        raise EstimationError("every modality needs one label per sample")
    pid = create("pid", measure, check=False)
    hy = _entropy_of([y])
    total = (_entropy_of(cols) + hy - _entropy_of([*cols, y])) / LN2
    mi = {
        n: (_entropy_of([c]) + hy - _entropy_of([c, y])) / LN2 for n, c in zip(names, cols, strict=True)
    }
    vs_rest: dict[str, dict[str, float]] = {}
    for i, name in enumerate(names):
        rest = _codes([c for j, c in enumerate(cols) if j != i])
        a = np.unique(cols[i], return_inverse=True)[1]
        res = pid.decompose(joint_from_labels(a, rest, np.unique(y, return_inverse=True)[1]))
        vs_rest[name] = {"R": res.R, "U_i": res.U1, "U_rest": res.U2, "S": res.S, "gap": res.gap}
    variables = [*cols, y]
    co = 0.0
    for size in range(1, len(variables) + 1):
        for subset in combinations(range(len(variables)), size):
            co += (-1) ** (size + 1) * _entropy_of([variables[k] for k in subset])
    co_info = co / LN2
    nv = len(variables)
    h_all = _entropy_of(variables)
    o_info = (nv - 2) * h_all
    for j in range(nv):
        o_info += _entropy_of([variables[j]]) - _entropy_of(
            [v for k, v in enumerate(variables) if k != j]
        )
    return {
        "names": names,
        "total": total,
        "mi": mi,
        "vs_rest": vs_rest,
        "unique": {n: vs_rest[n]["U_i"] for n in names},
        "co_information": co_info,
        "o_information": o_info / LN2,
    }
