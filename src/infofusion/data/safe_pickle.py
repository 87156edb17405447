"""A pickle loader that admits only data: plain containers, strings, numbers and numpy arrays.

Feature pickles from the field (MMSA, MAG-BERT, MulT/MultiBench, MUStARD) arrive from strangers;
a plain ``pickle.load`` would run whatever callable the file names. :class:`SafeUnpickler`
overrides ``find_class`` with an allow-list, so any other global (``os.system``,
``builtins.eval``, a user class...) raises :class:`~infofusion.errors.UnsafePickleError` before
it can be called. The subclass keeps the C unpickler's speed: ``find_class`` runs once per
distinct global, and array buffers are read straight into the arrays (no extra copies).

Both numpy 1.x pickles (``numpy.core.multiarray._reconstruct``) and numpy 2 pickles
(``numpy._core...``) are admitted, and Python 2 pickles load with ``encoding="latin1"`` (the
default here), which is how numpy arrays pickled under Python 2 must be read.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
import struct
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from infofusion.errors import FormatError, UnsafePickleError

__all__ = ["SafeUnpickler", "LazyArray", "safe_load", "safe_loads", "ALLOWED_GLOBALS"]


def _numpy_core(submodule: str) -> Any:
    """``numpy._core.<submodule>`` on numpy 2, ``numpy.core.<submodule>`` on numpy 1."""
    import importlib

    try:
        return importlib.import_module(f"numpy._core.{submodule}")
    except ImportError:  # numpy 1.x
        return importlib.import_module(f"numpy.core.{submodule}")


# Text codecs only: protocol-2 pickles written by Python 3 encode ``bytes`` objects as
# ``_codecs.encode(text, "latin1")``; nothing else may pass through this door.
_TEXT_CODECS = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "utf-8", "utf8", "ascii"}


def _codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    if not isinstance(obj, str) or not isinstance(encoding, str):
        raise pickle.UnpicklingError("_codecs.encode is admitted only for str -> bytes")
    if encoding.lower() not in _TEXT_CODECS:
        raise UnsafePickleError(f"_codecs.encode(..., {encoding!r})")
    return codecs.encode(obj, encoding, errors)


def _allowed() -> dict[tuple[str, str], Any]:
    multiarray = _numpy_core("multiarray")
    numeric = _numpy_core("numeric")
    table: dict[tuple[str, str], Any] = {}
    for name in (
        "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray",
        "int", "float", "complex", "bool", "slice", "range",
    ):  # fmt: skip
        table[("builtins", name)] = getattr(__import__("builtins"), name)
    table[("collections", "OrderedDict")] = OrderedDict
    table[("_codecs", "encode")] = _codecs_encode
    table[("numpy", "ndarray")] = np.ndarray
    table[("numpy", "dtype")] = np.dtype
    # numpy 1.x writes ``numpy.core``, numpy 2 writes ``numpy._core``: both map to what exists.
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct
        table[(f"{core}.multiarray", "scalar")] = multiarray.scalar
        table[(f"{core}.numeric", "_frombuffer")] = numeric._frombuffer
    return table


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = _allowed()
"""(module, name) -> object, the only globals a data pickle may reference."""

# Python 2 module names (pickles written by Python 2 say ``__builtin__.set``).
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`.

    Args:
        file: binary file object to read from.
        path: file name used in error messages.
        encoding: how Python 2 ``str`` objects are decoded (``"latin1"`` keeps numpy arrays
            pickled by Python 2 readable).
    """

    def __init__(self, file: BinaryIO, *, path: object = None, encoding: str = "latin1"):
        super().__init__(file, encoding=encoding, fix_imports=True)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle API
        module = _PY2_MODULES.get(module, module)
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(f"{module}.{name}", path=self._path) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"persistent id {pid!r}", path=self._path)


def _run(unpickler: pickle.Unpickler, path: object) -> Any:
    """``unpickler.load()`` with every low-level failure turned into a FormatError naming the
    file (refusals are already UnsafePickleError, a FormatError)."""
    try:
        return unpickler.load()
    except FormatError:
        raise
    except (EOFError, pickle.UnpicklingError, struct.error) as exc:
        raise FormatError(
            f"truncated or corrupt pickle ({type(exc).__name__}: {exc})", path=path
        ) from exc
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, UnicodeError) as exc:
        # numpy's setstate complains with ValueError when a buffer is shorter than the shape
        raise FormatError(
            f"cannot unpickle ({type(exc).__name__}: {exc}); the file is corrupt or truncated",
            path=path,
        ) from exc


def _load(file: BinaryIO, path: object, encoding: str) -> Any:
    return _run(SafeUnpickler(file, path=path, encoding=encoding), path)


def safe_load(
    path: str | os.PathLike[str],
    *,
    encoding: str = "latin1",
    lazy_min_bytes: int | None = None,
) -> Any:
    """Load a data pickle from ``path`` through the allow-list unpickler.

    Args:
        path: the pickle file.
        encoding: how Python 2 ``str`` objects are decoded (latin1 keeps numpy arrays readable).
        lazy_min_bytes: when given, numpy arrays whose raw data is at least this many bytes
            (and is stored as one bytes record: protocols 3 to 5) are not read: they come back
            as :class:`LazyArray` records (shape, dtype, file offset) that a loader reads
            straight into its final buffer, so a multi-GB file is copied once, not twice.

    Raises:
        UnsafePickleError: the pickle references a global outside the allow-list (nothing
            from the file has been called).
        FormatError: the file is missing, truncated or corrupt (names the file).
    """
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise FormatError(f"cannot open ({exc.strerror or exc})", path=path) from exc
    with fh:
        if lazy_min_bytes is None:
            return _load(fh, path, encoding)
        unpickler = _LazyUnpickler(fh, path=path, encoding=encoding, min_bytes=lazy_min_bytes)
        out = _run(unpickler, path)
        return _materialize_bytes(out)


def safe_loads(data: bytes, *, encoding: str = "latin1", path: object = None) -> Any:
    """Like :func:`safe_load` for an in-memory pickle."""
    return _load(io.BytesIO(data), path, encoding)


# --------------------------------------------------------------------------------------------
# Lazy arrays: large array payloads are located in the file, not read
# --------------------------------------------------------------------------------------------
class _LazyBytes:
    """A bytes record left in the file: (offset, size)."""

    __slots__ = ("path", "offset", "nbytes", "kind")

    def __init__(self, path: Any, offset: int, nbytes: int, kind: type):
        self.path, self.offset, self.nbytes, self.kind = path, offset, nbytes, kind

    def read(self) -> bytes | bytearray:
        buf = bytearray(self.nbytes)
        _read_exact(self.path, self.offset, memoryview(buf))
        return buf if self.kind is bytearray else bytes(buf)


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


def _materialize_bytes(obj: Any) -> Any:
    """Read back any large bytes record that did not end up inside an array."""
    if isinstance(obj, _LazyBytes):
        return obj.read()
    if type(obj) is dict or type(obj) is OrderedDict:
        for k, v in obj.items():
            if isinstance(v, (_LazyBytes, dict, list, tuple)):
                obj[k] = _materialize_bytes(v)
        return obj
    if type(obj) is list:
        for i, v in enumerate(obj):
            if isinstance(v, (_LazyBytes, dict, list, tuple)):
                obj[i] = _materialize_bytes(v)
        return obj
    if type(obj) is tuple and any(isinstance(v, (_LazyBytes, dict, list, tuple)) for v in obj):
        return tuple(_materialize_bytes(v) for v in obj)
    return obj


class _LazyUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Pure-Python allow-list unpickler that leaves large array payloads in the file.

    Only the few opcodes that carry raw bytes (BINBYTES, BINBYTES8, BYTEARRAY8) and BUILD are
    changed; everything else, including ``find_class``'s allow-list, is as in
    :class:`SafeUnpickler`.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: BinaryIO, *, path: object, encoding: str, min_bytes: int):
        super().__init__(file, encoding=encoding, fix_imports=True)
        self._fh = file
        self._path = path
        self._min = max(1, int(min_bytes))
        self._size = os.fstat(file.fileno()).st_size
        self._nd_memo: dict[int, list[Any]] = {}

    persistent_load = SafeUnpickler.persistent_load

    def _payload(self, n: int, kind: type) -> Any:
        uf = self._unframer
        frame = uf.current_frame
        in_frame = False
        if frame is not None:
            pos = frame.tell()
            in_frame = frame.seek(0, io.SEEK_END) > pos
            frame.seek(pos)
        if n < self._min or in_frame:
            if kind is bytearray:
                b = bytearray(n)
                self.readinto(b)
                return b
            data = self.read(n)
            if len(data) != n:
                raise pickle.UnpicklingError("pickle data was truncated")
            return data
        uf.current_frame = None  # the record lies after the (finished) frame
        offset = self._fh.tell()
        if offset + n > self._size:
            raise FormatError(
                f"truncated: a {n}-byte record at offset {offset} runs past the end of the "
                f"{self._size}-byte file",
                path=self._path,
            )
        self._fh.seek(n, io.SEEK_CUR)
        return _LazyBytes(self._path, offset, n, kind)

    def load_binbytes(self) -> None:
        (n,) = struct.unpack("<I", self.read(4))
        self.append(self._payload(n, bytes))

    def load_binbytes8(self) -> None:
        (n,) = struct.unpack("<Q", self.read(8))
        self.append(self._payload(n, bytes))

    def load_bytearray8(self) -> None:
        (n,) = struct.unpack("<Q", self.read(8))
        self.append(self._payload(n, bytearray))

    def _remember(self) -> None:
        top = self.stack[-1]
        if type(top) is np.ndarray:
            self._nd_memo.setdefault(id(top), []).append(len(self.memo) - 1)

    def load_memoize(self) -> None:
        pickle._Unpickler.load_memoize(self)  # type: ignore[attr-defined]
        self._remember()

    def load_binput(self) -> None:
        i = self.read(1)[0]
        self.memo[i] = self.stack[-1]
        if type(self.stack[-1]) is np.ndarray:
            self._nd_memo.setdefault(id(self.stack[-1]), []).append(i)

    def load_long_binput(self) -> None:
        (i,) = struct.unpack("<I", self.read(4))
        self.memo[i] = self.stack[-1]
        if type(self.stack[-1]) is np.ndarray:
            self._nd_memo.setdefault(id(self.stack[-1]), []).append(i)

    def load_build(self) -> None:
        stack = self.stack
        state, inst = stack[-1], stack[-2]
        if (
            type(inst) is np.ndarray
            and isinstance(state, tuple)
            and len(state) in (4, 5)
            and isinstance(state[-1], _LazyBytes)
        ):
            shape, dtype, fortran = state[-4], state[-3], state[-2]
            if not isinstance(dtype, np.dtype):
                raise pickle.UnpicklingError("array state without a dtype")
            lazy = LazyArray(self._path, state[-1].offset, state[-1].nbytes, shape, dtype, fortran)
            stack.pop()
            stack[-1] = lazy
            for key in self._nd_memo.pop(id(inst), ()):
                if self.memo.get(key) is inst:
                    self.memo[key] = lazy
            return
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]

    def find_class(self, module: str, name: str) -> Any:  # type: ignore[no-redef]
        obj = SafeUnpickler.find_class(self, module, name)
        if name == "_frombuffer":
            return _lazy_frombuffer(obj, self._path)
        return obj


def _lazy_frombuffer(real: Any, path: Any) -> Any:
    """numpy's protocol-5 array reconstructor, accepting a lazy in-band buffer."""

    def frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
        if isinstance(buf, _LazyBytes):
            return LazyArray(path, buf.offset, buf.nbytes, shape, dtype, order == "F")
        return real(buf, dtype, shape, order)

    return frombuffer


for _op, _fn in (
    (pickle.BINBYTES, _LazyUnpickler.load_binbytes),
    (pickle.BINBYTES8, _LazyUnpickler.load_binbytes8),
    (pickle.BYTEARRAY8, _LazyUnpickler.load_bytearray8),
    (pickle.BUILD, _LazyUnpickler.load_build),
    (pickle.MEMOIZE, _LazyUnpickler.load_memoize),
    (pickle.BINPUT, _LazyUnpickler.load_binput),
    (pickle.LONG_BINPUT, _LazyUnpickler.load_long_binput),
):
    _LazyUnpickler.dispatch[_op[0]] = _fn
