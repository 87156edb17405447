"""A pickle loader that admits only data: plain containers, strings, numbers and numpy arrays.

Feature pickles from the field (MMSA, MAG-BERT, MulT/MultiBench, MUStARD) arrive from strangers;
a plain ``pickle.load`` would run whatever callable the file names. :class:`SafeUnpickler`
admits an allow-list of globals, so any other one (``os.system``, ``builtins.eval``, a user
class...) raises :class:`~infofusion.errors.UnsafePickleError` before it can be called.

Refusing code is not enough: a few hundred bytes of pickle can describe an object whose *use*
never ends -- a list nested 10^5 deep (every recursive consumer dies of ``RecursionError``), a
"billion laughs" list whose 30 levels each hold the previous one twice (2^30 elements reached
through shared references), a dict key whose hash walks such a tuple, ``list(range(10**10))``
through an admitted constructor. The unpickler therefore bounds the work explicitly:

* every admitted constructor checks its arguments (no ``range``/size arguments, no iterators,
  numpy's reconstructor only with the ``(0,)`` shape numpy writes), ``BUILD`` and the item
  opcodes only act on the container types they are meant for, and length prefixes larger than
  the file are refused before anything is allocated;
* dict keys and set members must be atoms (str, bytes, numbers, None) or small tuples of them
  (at most ``max_key_items`` elements), so hashing them is cheap;
* after loading, one pass over the object graph -- each container visited once, shared ones
  reused -- measures the nesting depth and the number of container elements a full traversal
  would reach (shared references counted every time). More than ``max_depth`` levels or
  ``max_items`` elements, or a cycle, is refused with
  :class:`~infofusion.errors.PickleLimitError` naming the file and the limit.

Defaults: :data:`MAX_DEPTH` (100 levels; the field's pickles use 2 to 5) and :data:`MAX_ITEMS`
(10^7 elements; numeric data lives in numpy arrays, each of which counts as one element). A
trusted file beyond them loads with ``safe_load(path, max_depth=..., max_items=...)``.

The loader is a pure-Python unpickler (the C one cannot bound hashing). Array buffers are read
in one piece, and with ``lazy_min_bytes`` large ones are not read at all but located in the
file (:class:`LazyArray`), so a loader reads them straight into their final place.

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

from infofusion.data._pickle_graph import LazyBytes, check_graph, materialize
from infofusion.errors import FormatError, PickleLimitError, UnsafePickleError

__all__ = [
    "ALLOWED_GLOBALS",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_KEY_ITEMS",
    "LazyArray",
    "SafeUnpickler",
    "safe_load",
    "safe_loads",
]

MAX_DEPTH = 100
"""Default nesting limit (containers inside containers, object arrays included)."""
MAX_ITEMS = 10_000_000
"""Default limit on the container elements a full traversal reaches (shared ones each time)."""
MAX_KEY_ITEMS = 64
"""Elements a tuple used as a dict key or set member may hold (nested tuples included)."""


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


class _Refused(Exception):
    """Raised by the guarded constructors; turned into a FormatError naming the file."""


def _codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    if not isinstance(obj, str) or not isinstance(encoding, str):
        raise pickle.UnpicklingError("_codecs.encode is admitted only for str -> bytes")
    if encoding.lower() not in _TEXT_CODECS:
        raise _Refused(f"_codecs.encode(..., {encoding!r}): only text codecs are admitted")
    return codecs.encode(obj, encoding, errors)


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` in a pickle: an argument of numpy's reconstructor, never
    called itself (``ndarray(shape)`` would allocate whatever the file asks for)."""

    __name__ = "ndarray"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise _Refused("numpy.ndarray called directly; numpy pickles use _reconstruct")


_NDARRAY = _NdarrayToken()
_ATOMS = frozenset({str, bytes, int, float, bool, complex, type(None)})
_SEQUENCES = (list, tuple)


def _allowed() -> dict[tuple[str, str], Any]:
    multiarray = _numpy_core("multiarray")
    numeric = _numpy_core("numeric")
    table: dict[tuple[str, str], Any] = {}
    import builtins

    for name in (
        "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray",
        "int", "float", "complex", "bool", "slice", "range",
    ):  # fmt: skip
        table[("builtins", name)] = getattr(builtins, name)
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
"""(module, name) -> object, the only globals a data pickle may reference. Constructors among
them reach the file through argument-checking wrappers (see :class:`SafeUnpickler`)."""

# Python 2 module names (pickles written by Python 2 say ``__builtin__.set``).
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
# Harmless types that are handed out as themselves (NEWOBJ needs real types: complex uses it).
_PLAIN = frozenset({int, float, complex, bool, slice})


class SafeUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Allow-list unpickler with bounded work (see the module docstring).

    Args:
        file: binary file object to read from.
        path: file name used in error messages.
        encoding: how Python 2 ``str`` objects are decoded (``"latin1"`` keeps numpy arrays
            pickled by Python 2 readable).
        size: size of the input in bytes (length prefixes beyond it are refused unread);
            taken from the file when None.
        max_key_items: elements a tuple used as a dict key or set member may hold.
        max_items: the largest ``range`` an admitted constructor may expand.
        lazy_min_bytes: when given, array payloads of at least this many bytes stored as one
            bytes record (protocols 3 to 5) are left in the file as :class:`LazyArray`.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(
        self,
        file: BinaryIO,
        *,
        path: object = None,
        encoding: str = "latin1",
        size: int | None = None,
        max_key_items: int = MAX_KEY_ITEMS,
        max_items: int = MAX_ITEMS,
        lazy_min_bytes: int | None = None,
    ):
        super().__init__(file, encoding=encoding, fix_imports=True)
        self._fh = file
        self._path = path
        if size is None:
            try:
                size = os.fstat(file.fileno()).st_size
            except (AttributeError, OSError, io.UnsupportedOperation):
                size = 1 << 62
        self._size = int(size)
        self._max_key_items = int(max_key_items)
        self._max_items = int(max_items)
        self._lazy = lazy_min_bytes is not None
        self._min = max(1, int(lazy_min_bytes)) if self._lazy else 0
        self._nd_memo: dict[int, list[Any]] = {}
        self._guards: dict[Any, Any] = {}
        self.lazy_left = 0  # bytes records left in the file and not consumed by an array

    # ---------------------------------------------------------------- globals
    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle API
        module = _PY2_MODULES.get(module, module)
        try:
            obj = ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(f"{module}.{name}", path=self._path) from None
        guards = getattr(self, "_guards", None)
        if guards is None or obj in _PLAIN or obj is _codecs_encode or name == "scalar":
            return obj
        if obj not in guards:
            guards[obj] = self._guard(obj)
        return guards[obj]

    def _guard(self, obj: Any) -> Any:
        """The admitted global as the file may use it: arguments checked before the call."""
        keys = self._check_keys
        max_items = self._max_items
        name = getattr(obj, "__name__", str(obj))

        def seq(x: Any) -> bool:
            return type(x) in _SEQUENCES

        if obj is np.ndarray:
            return _NDARRAY
        if obj in (list, tuple):

            def build(*a: Any) -> Any:
                if a and (len(a) > 1 or not seq(a[0])):
                    raise _Refused(f"{name}() of {type(a[0]).__name__}")
                return obj(*a)
        elif obj in (set, frozenset):

            def build(*a: Any) -> Any:
                if a and (len(a) > 1 or not seq(a[0])):
                    raise _Refused(f"{name}() of {type(a[0]).__name__}")
                if a:
                    keys(a[0])
                return obj(*a)
        elif obj in (dict, OrderedDict):

            def build(*a: Any) -> Any:
                if a and (len(a) > 1 or not seq(a[0])):
                    raise _Refused(f"{name}() of {type(a[0]).__name__}")
                if a:
                    for pair in a[0]:
                        if type(pair) not in _SEQUENCES or len(pair) != 2:
                            raise _Refused(f"{name}() of something other than (key, value) pairs")
                        keys((pair[0],))
                return obj(*a)
        elif obj in (bytes, bytearray, str):

            def build(*a: Any) -> Any:
                if (
                    a
                    and not isinstance(a[0], (str, bytes, bytearray))
                    and not (obj is not str and seq(a[0]))
                ):
                    raise _Refused(f"{name}() of {type(a[0]).__name__}")
                return obj(*a)
        elif obj is range:

            def build(*a: Any) -> Any:
                r = range(*a)
                if len(r) > max_items:
                    raise _Refused(f"range of {len(r)} elements (max_items={max_items})")
                return r
        elif obj is np.dtype:

            def build(spec: Any, align: Any = False, copy: Any = False) -> Any:
                if not isinstance(spec, str) or len(spec) > 64:
                    raise _Refused("numpy.dtype() of something other than a type string")
                return np.dtype(spec, bool(align), bool(copy))
        elif name == "_reconstruct":

            def build(subtype: Any, shape: Any, dtype: Any) -> Any:
                if subtype is not _NDARRAY:
                    raise _Refused("_reconstruct of a type other than numpy.ndarray")
                if (
                    type(shape) is not tuple
                    or len(shape) > 32
                    or any(type(d) is not int or not 0 <= d <= 1 for d in shape)
                ):
                    raise _Refused(f"_reconstruct with shape {shape!r:.40}; numpy writes (0,)")
                return obj(np.ndarray, shape, dtype)
        elif name == "_frombuffer" and self._lazy:
            path = self._path

            def build(buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
                if isinstance(buf, LazyBytes):
                    self.lazy_left -= 1
                    return LazyArray(path, buf.offset, buf.nbytes, shape, dtype, order == "F")
                return obj(buf, dtype, shape, order)
        else:
            return obj
        build.__name__ = name
        return build

    def _check_keys(self, items: Any) -> None:
        """Dict keys / set members must be cheap to hash: atoms or small tuples of atoms."""
        for k in items:
            t = type(k)
            if t in _ATOMS or t is frozenset or isinstance(k, np.generic):
                continue
            if t is tuple:
                self._check_tuple_key(k)
                continue
            raise _Refused(f"a dict key or set member of type {t.__name__}")

    def _check_tuple_key(self, key: tuple) -> None:
        budget = self._max_key_items
        todo = [key]
        while todo:
            t = todo.pop()
            budget -= len(t)
            if budget < 0:
                raise PickleLimitError(
                    "a dict key or set member is a tuple holding more elements",
                    limit="max_key_items",
                    value=self._max_key_items,
                    path=self._path,
                )
            for k in t:
                if type(k) is tuple:
                    todo.append(k)
                elif not (type(k) in _ATOMS or type(k) is frozenset or isinstance(k, np.generic)):
                    raise _Refused(f"a dict key or set member holding {type(k).__name__}")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(path=self._path, reason=f"persistent id {pid!r:.60}")

    # ---------------------------------------------------------------- opcodes
    def _length(self, fmt: str, width: int, what: str) -> int:
        (n,) = struct.unpack(fmt, self.read(width))
        if n < 0 or n > self._size:
            raise FormatError(
                f"truncated or corrupt: a {what} of {n} bytes in a {self._size}-byte input",
                path=self._path,
            )
        return n

    def load_frame(self) -> None:
        self._unframer.load_frame(self._length("<Q", 8, "frame"))

    def load_binunicode(self) -> None:
        self.append(str(self.read(self._length("<I", 4, "string")), "utf-8", "surrogatepass"))

    def load_binunicode8(self) -> None:
        self.append(str(self.read(self._length("<Q", 8, "string")), "utf-8", "surrogatepass"))

    def load_binstring(self) -> None:
        self.append(self._decode_string(self.read(self._length("<i", 4, "string"))))

    def load_long4(self) -> None:
        self.append(pickle.decode_long(self.read(self._length("<i", 4, "integer"))))

    def load_binbytes(self) -> None:
        self.append(self._payload(self._length("<I", 4, "bytes record"), bytes))

    def load_binbytes8(self) -> None:
        self.append(self._payload(self._length("<Q", 8, "bytes record"), bytes))

    def load_bytearray8(self) -> None:
        self.append(self._payload(self._length("<Q", 8, "bytes record"), bytearray))

    def _payload(self, n: int, kind: type) -> Any:
        if self._lazy and n >= self._min:
            uf = self._unframer
            frame = uf.current_frame
            in_frame = False
            if frame is not None:
                pos = frame.tell()
                in_frame = frame.seek(0, io.SEEK_END) > pos
                frame.seek(pos)
            if not in_frame:
                uf.current_frame = None  # the record lies after the (finished) frame
                offset = self._fh.tell()
                if offset + n > self._size:
                    raise FormatError(
                        f"truncated: a {n}-byte record at offset {offset} runs past the end "
                        f"of the {self._size}-byte file",
                        path=self._path,
                    )
                self._fh.seek(n, io.SEEK_CUR)
                self.lazy_left += 1
                return LazyBytes(self._path, offset, n, kind)
        if kind is bytearray:
            b = bytearray(n)
            if self.readinto(b) != n:
                raise pickle.UnpicklingError("pickle data was truncated")
            return b
        data = self.read(n)
        if len(data) != n:
            raise pickle.UnpicklingError("pickle data was truncated")
        return data

    def _refuse_extension(self) -> None:
        raise UnsafePickleError(path=self._path, reason="an extension-registry code (EXT opcode)")

    def load_setitem(self) -> None:
        stack = self.stack
        self._target(stack[-3], (dict, OrderedDict), "SETITEM")
        self._check_keys((stack[-2],))
        pickle._Unpickler.load_setitem(self)  # type: ignore[attr-defined]

    def load_setitems(self) -> None:
        self._target(self.metastack[-1][-1], (dict, OrderedDict), "SETITEMS")
        self._check_keys(self.stack[0::2])
        pickle._Unpickler.load_setitems(self)  # type: ignore[attr-defined]

    def load_dict(self) -> None:
        self._check_keys(self.stack[0::2])
        pickle._Unpickler.load_dict(self)  # type: ignore[attr-defined]

    def load_additems(self) -> None:
        self._target(self.metastack[-1][-1], (set,), "ADDITEMS")
        self._check_keys(self.stack)
        pickle._Unpickler.load_additems(self)  # type: ignore[attr-defined]

    def load_frozenset(self) -> None:
        self._check_keys(self.stack)
        pickle._Unpickler.load_frozenset(self)  # type: ignore[attr-defined]

    def load_append(self) -> None:
        self._target(self.stack[-2], (list,), "APPEND")
        pickle._Unpickler.load_append(self)  # type: ignore[attr-defined]

    def load_appends(self) -> None:
        self._target(self.metastack[-1][-1], (list,), "APPENDS")
        pickle._Unpickler.load_appends(self)  # type: ignore[attr-defined]

    @staticmethod
    def _target(obj: Any, kinds: tuple[type, ...], op: str) -> None:
        if type(obj) not in kinds:
            raise _Refused(f"{op} applied to {type(obj).__name__}")

    # memo opcodes: in lazy mode, remember where each array is memoised, so the LazyArray that
    # replaces it at BUILD replaces it in the memo too
    def load_memoize(self) -> None:
        memo, top = self.memo, self.stack[-1]
        memo[len(memo)] = top
        if self._lazy and type(top) is np.ndarray:
            self._nd_memo.setdefault(id(top), []).append(len(memo) - 1)

    def load_binput(self) -> None:
        i, top = self.read(1)[0], self.stack[-1]
        self.memo[i] = top
        if self._lazy and type(top) is np.ndarray:
            self._nd_memo.setdefault(id(top), []).append(i)

    def load_long_binput(self) -> None:
        (i,) = struct.unpack("<I", self.read(4))
        top = self.stack[-1]
        self.memo[i] = top
        if self._lazy and type(top) is np.ndarray:
            self._nd_memo.setdefault(id(top), []).append(i)

    def load_build(self) -> None:
        stack = self.stack
        state, inst = stack[-1], stack[-2]
        if type(inst) is np.ndarray:
            if (
                self._lazy
                and isinstance(state, tuple)
                and len(state) in (4, 5)
                and isinstance(state[-1], LazyBytes)
            ):
                shape, dtype, fortran = state[-4], state[-3], state[-2]
                if not isinstance(dtype, np.dtype):
                    raise pickle.UnpicklingError("array state without a dtype")
                lazy = LazyArray(
                    self._path, state[-1].offset, state[-1].nbytes, shape, dtype, fortran
                )
                self.lazy_left -= 1
                stack.pop()
                stack[-1] = lazy
                for key in self._nd_memo.pop(id(inst), ()):
                    if self.memo.get(key) is inst:
                        self.memo[key] = lazy
                return
        elif not isinstance(inst, np.dtype):
            raise _Refused(f"BUILD (setting the state) of {type(inst).__name__}")
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]


for _op, _fn in (
    (pickle.FRAME, SafeUnpickler.load_frame),
    (pickle.BINUNICODE, SafeUnpickler.load_binunicode),
    (pickle.BINUNICODE8, SafeUnpickler.load_binunicode8),
    (pickle.BINSTRING, SafeUnpickler.load_binstring),
    (pickle.LONG4, SafeUnpickler.load_long4),
    (pickle.BINBYTES, SafeUnpickler.load_binbytes),
    (pickle.BINBYTES8, SafeUnpickler.load_binbytes8),
    (pickle.BYTEARRAY8, SafeUnpickler.load_bytearray8),
    (pickle.EXT1, SafeUnpickler._refuse_extension),
    (pickle.EXT2, SafeUnpickler._refuse_extension),
    (pickle.EXT4, SafeUnpickler._refuse_extension),
    (pickle.SETITEM, SafeUnpickler.load_setitem),
    (pickle.SETITEMS, SafeUnpickler.load_setitems),
    (pickle.DICT, SafeUnpickler.load_dict),
    (pickle.ADDITEMS, SafeUnpickler.load_additems),
    (pickle.FROZENSET, SafeUnpickler.load_frozenset),
    (pickle.APPEND, SafeUnpickler.load_append),
    (pickle.APPENDS, SafeUnpickler.load_appends),
    (pickle.MEMOIZE, SafeUnpickler.load_memoize),
    (pickle.BINPUT, SafeUnpickler.load_binput),
    (pickle.LONG_BINPUT, SafeUnpickler.load_long_binput),
    (pickle.BUILD, SafeUnpickler.load_build),
):
    SafeUnpickler.dispatch[_op[0]] = _fn


def _run(unpickler: SafeUnpickler, path: object, max_depth: int, max_items: int) -> Any:
    """Load, check the object graph, and turn every low-level failure into a FormatError naming
    the file (refusals are already UnsafePickleError / PickleLimitError, FormatErrors)."""
    try:
        obj = unpickler.load()
    except FormatError:
        raise
    except _Refused as exc:
        raise UnsafePickleError(path=path, reason=str(exc)) from None
    except (EOFError, pickle.UnpicklingError, struct.error) as exc:
        raise FormatError(
            f"truncated or corrupt pickle ({type(exc).__name__}: {exc})", path=path
        ) from exc
    except (
        ValueError, TypeError, AttributeError, IndexError, KeyError, UnicodeError,
        OverflowError, MemoryError, RecursionError,
    ) as exc:  # fmt: skip
        # numpy's setstate complains with ValueError when a buffer is shorter than the shape
        raise FormatError(
            f"cannot unpickle ({type(exc).__name__}: {str(exc)[:200]}); the file is corrupt or "
            "not a data pickle",
            path=path,
        ) from exc
    finally:
        unpickler.memo.clear()
    check_graph(obj, max_depth=max_depth, max_items=max_items, path=path)
    if unpickler.lazy_left:
        obj = materialize(obj)
    return obj


def _limits(max_depth: int | None, max_items: int | None) -> tuple[int, int]:
    depth = MAX_DEPTH if max_depth is None else int(max_depth)
    items = MAX_ITEMS if max_items is None else int(max_items)
    if depth < 1 or items < 1:
        from infofusion.errors import ConfigError

        raise ConfigError(f"max_depth and max_items must be >= 1, got {depth} and {items}")
    return depth, items


def safe_load(
    path: str | os.PathLike[str],
    *,
    encoding: str = "latin1",
    lazy_min_bytes: int | None = None,
    max_depth: int | None = None,
    max_items: int | None = None,
) -> Any:
    """Load a data pickle from ``path`` through the allow-list unpickler, with bounded work.

    Args:
        path: the pickle file.
        encoding: how Python 2 ``str`` objects are decoded (latin1 keeps numpy arrays readable).
        lazy_min_bytes: when given, numpy arrays whose raw data is at least this many bytes
            (and is stored as one bytes record: protocols 3 to 5) are not read: they come back
            as :class:`LazyArray` records (shape, dtype, file offset) that a loader reads
            straight into its final buffer, so a multi-GB file is copied once, not twice.
        max_depth: nesting limit (default :data:`MAX_DEPTH`); raise it only for trusted files.
        max_items: limit on the container elements a full traversal reaches, shared references
            counted each time (default :data:`MAX_ITEMS`).

    Raises:
        UnsafePickleError: the pickle references a global outside the allow-list, or uses an
            admitted one in a way data pickles never do (nothing from the file has been called).
        PickleLimitError: the object is nested deeper than ``max_depth``, reaches more than
            ``max_items`` elements, or has an oversized dict key (names the limit).
        FormatError: the file is missing, truncated, corrupt or cyclic (names the file).
    """
    depth, items = _limits(max_depth, max_items)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise FormatError(f"cannot open ({exc.strerror or exc})", path=path) from exc
    with fh:
        if os.path.isdir(path):
            raise FormatError("expected a pickle file, got a directory", path=path)
        unpickler = SafeUnpickler(
            fh, path=path, encoding=encoding, lazy_min_bytes=lazy_min_bytes, max_items=items
        )
        return _run(unpickler, path, depth, items)


def safe_loads(
    data: bytes,
    *,
    encoding: str = "latin1",
    path: object = None,
    max_depth: int | None = None,
    max_items: int | None = None,
) -> Any:
    """Like :func:`safe_load` for an in-memory pickle."""
    depth, items = _limits(max_depth, max_items)
    unpickler = SafeUnpickler(
        io.BytesIO(data), path=path, encoding=encoding, size=len(data), max_items=items
    )
    return _run(unpickler, path, depth, items)


# --------------------------------------------------------------------------------------------
# Lazy arrays: large array payloads are located in the file, not read
# --------------------------------------------------------------------------------------------
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
