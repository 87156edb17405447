"""Array payloads left in their pickle file: located while unpickling, read when needed.

With ``safe_load(path, lazy_min_bytes=...)`` a large bytes record is not read but recorded as
(offset, size); when it turns out to be an array's buffer it becomes a :class:`LazyArray`, which
a loader reads straight into its rows of the final stacked array (one copy of the data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infofusion.errors import FormatError

__all__ = ["LazyArray", "LazyBytes"]

_READ_CHUNK = 256 * 2**20


def _read_exact(path: Any, offset: int, view: memoryview) -> None:
    with open(path, "rb", buffering=0) as fh:
        fh.seek(offset)
        pos = 0
        while pos < len(view):
            n = fh.readinto(view[pos : pos + _READ_CHUNK])
            if not n:
                raise FormatError(
                    f"truncated: array data ends after {pos} of {len(view)} bytes", path=path
                )
            pos += n


class LazyArray:
    """A numpy array still in its pickle file: shape, dtype and where its bytes are.

    ``np.asarray(lazy)`` (or :meth:`load`) reads it; :meth:`read_into` reads it straight into
    a slice of a larger array, converting the dtype when it differs.
    """

    __slots__ = ("path", "offset", "nbytes", "shape", "dtype", "fortran")

    def __init__(
        self,
        path: Any,
        offset: int,
        nbytes: int,
        shape: tuple[int, ...],
        dtype: np.dtype,
        fortran: bool,
    ):
        self.path, self.offset, self.nbytes = path, offset, nbytes
        self.shape, self.dtype, self.fortran = tuple(shape), np.dtype(dtype), bool(fortran)
        expected = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        if expected != nbytes:
            raise FormatError(
                f"array of shape {self.shape} and dtype {self.dtype} needs {expected} bytes, "
                f"the file holds {nbytes}",
                path=path,
            )

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"LazyArray(shape={self.shape}, dtype={self.dtype}, offset={self.offset})"

    def load(self) -> np.ndarray:
        """Read the array into a new numpy array."""
        arr = np.empty(self.shape, dtype=self.dtype, order="F" if self.fortran else "C")
        flat = arr.T if self.fortran else arr  # C-contiguous view over the same bytes
        if arr.size:
            _read_exact(self.path, self.offset, memoryview(flat.reshape(-1)).cast("B"))
        return arr

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.load()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def read_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (same shape) with this array; no temporary when dtypes match."""
        if out.shape != self.shape:
            raise ValueError(f"read_into: shape {out.shape} != {self.shape}")
        if out.size == 0:
            return
        if (
            out.dtype == self.dtype
            and out.flags.c_contiguous
            and (not self.fortran or self.ndim <= 1)
        ):
            _read_exact(self.path, self.offset, memoryview(out.reshape(-1)).cast("B"))
            return
        # dtype conversion: read in slabs along the first axis to keep temporaries small
        if self.fortran or self.ndim == 0:
            out[...] = self.load()
            return
        row = self.nbytes // max(1, self.shape[0])
        step = max(1, _READ_CHUNK // max(1, row))
        for start in range(0, self.shape[0], step):
            k = min(step, self.shape[0] - start)
            tmp = np.empty((k,) + self.shape[1:], dtype=self.dtype)
            _read_exact(self.path, self.offset + start * row, memoryview(tmp.reshape(-1)).cast("B"))
            out[start : start + k] = tmp


class LazyBytes:
    """A bytes record left in its file: (offset, size); :meth:`read` fetches it."""

    __slots__ = ("path", "offset", "nbytes", "kind")

    def __init__(self, path: Any, offset: int, nbytes: int, kind: type):
        self.path, self.offset, self.nbytes, self.kind = path, offset, nbytes, kind

    def read(self) -> bytes | bytearray:
        buf = bytearray(self.nbytes)
        _read_exact(self.path, self.offset, memoryview(buf))
        return buf if self.kind is bytearray else bytes(buf)
