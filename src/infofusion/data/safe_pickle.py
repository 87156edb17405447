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

import io
import os
import pickle
import struct
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from infofusion.data._pickle_graph import check_graph, materialize
from infofusion.data._pickle_guards import Refused, check_keys, codecs_encode, guarded
from infofusion.data._pickle_lazy import LazyArray, LazyBytes
from infofusion.errors import FormatError, UnsafePickleError

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
    table[("_codecs", "encode")] = codecs_encode
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
        if guards is None or obj in _PLAIN or obj is codecs_encode or name == "scalar":
            return obj
        if obj not in guards:
            guards[obj] = self._guard(obj)
        return guards[obj]

    def _guard(self, obj: Any) -> Any:
        return guarded(
            obj,
            check_keys=self._check_keys,
            max_items=self._max_items,
            lazy_buffer=self._lazy_buffer if self._lazy else None,
        )

    def _lazy_buffer(self, buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
        """numpy's protocol-5 reconstructor given a buffer left in the file."""
        self.lazy_left -= 1
        return LazyArray(self._path, buf.offset, buf.nbytes, shape, dtype, order == "F")

    def _check_keys(self, items: Any) -> None:
        check_keys(items, self._max_key_items, self._path)

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
            raise Refused(f"{op} applied to {type(obj).__name__}")

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
            raise Refused(f"BUILD (setting the state) of {type(inst).__name__}")
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
    except Refused as exc:
        raise UnsafePickleError(path=path, reason=str(exc)) from None
    except KeyError as exc:
        if exc.args and isinstance(exc.args[0], int):  # no handler for this byte
            raise FormatError(
                f"not a pickle, or corrupt: byte 0x{exc.args[0]:02x} is no pickle opcode",
                path=path,
            ) from exc
        raise FormatError(
            f"cannot unpickle (KeyError: {exc}); the file is corrupt", path=path
        ) from exc
    except (EOFError, pickle.UnpicklingError, struct.error) as exc:
        raise FormatError(
            f"truncated or corrupt pickle ({type(exc).__name__}: {exc})", path=path
        ) from exc
    except (
        ValueError, TypeError, AttributeError, IndexError, UnicodeError,
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


# signatures of files that are often mistaken for data pickles
_NOT_PICKLES = (
    (b"PK\x03\x04", "a zip archive (a torch checkpoint or an .npz file?)"),
    (b"\x93NUMPY", "a numpy .npy array (read it with numpy.load)"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"PAR1", "a parquet file"),
)


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
        head = fh.read(8)
        for magic, what in _NOT_PICKLES:
            if head.startswith(magic):
                raise FormatError(f"this is {what}, not a pickle", path=path)
        fh.seek(0)
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
