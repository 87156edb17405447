"""BLAS threading for the moderate-size dense systems of the solver."""

from __future__ import annotations

import contextlib

_CONTROLLER: list = []


def blas_threads(k: int):
    """Context running BLAS/LAPACK single-threaded for systems of moderate size ``k``.

    Factorising a few-hundred-row matrix with several OpenBLAS threads gains nothing, and on
    a busy machine their synchronisation can cost a hundred times the arithmetic. Large
    systems keep the library's threading; without threadpoolctl nothing changes.
    """
    if k < 64 or k > 1200:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _CONTROLLER.append(None)
    ctrl = _CONTROLLER[0]
    return contextlib.nullcontext() if ctrl is None else ctrl.limit(limits=1, user_api="blas")
