"""Argument checks for the globals a data pickle may use, and for dict keys / set members.

An admitted constructor can still be asked for unbounded work -- ``list(range(10**10))``,
``bytes(10**11)``, ``numpy.ndarray((10**6, 10**6))``, ``str()`` of a shared structure -- and a
dict key whose tuple nests shared tuples costs 2^depth to hash. The wrappers here let through
what pickles of data use (the calls Python's and numpy's picklers write) and refuse the rest
with :class:`Refused` before anything is called.
"""

from __future__ import annotations

import codecs
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from infofusion.data._pickle_lazy import LazyBytes
from infofusion.errors import PickleLimitError

__all__ = ["NDARRAY", "Refused", "check_keys", "codecs_encode", "guarded"]


class Refused(Exception):
    """Raised by the checks; the unpickler turns it into an UnsafePickleError naming the file."""


# Text codecs only: protocol-2 pickles written by Python 3 encode ``bytes`` objects as
# ``_codecs.encode(text, "latin1")``; nothing else may pass through this door.
_TEXT_CODECS = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "utf-8", "utf8", "ascii"}


def codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    if not isinstance(obj, str) or not isinstance(encoding, str):
        raise pickle.UnpicklingError("_codecs.encode is admitted only for str -> bytes")
    if encoding.lower() not in _TEXT_CODECS:
        raise Refused(f"_codecs.encode(..., {encoding!r}): only text codecs are admitted")
    return codecs.encode(obj, encoding, errors)


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` in a pickle: an argument of numpy's reconstructor, never
    called itself (``ndarray(shape)`` would allocate whatever the file asks for)."""

    __name__ = "ndarray"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise Refused("numpy.ndarray called directly; numpy pickles use _reconstruct")


NDARRAY = _NdarrayToken()
_ATOMS = frozenset({str, bytes, int, float, bool, complex, type(None)})
_SEQUENCES = (list, tuple)


def guarded(
    obj: Any,
    *,
    check_keys: Callable[[Any], None],
    max_items: int,
    lazy_buffer: Callable[..., Any] | None = None,
) -> Any:
    """The admitted global ``obj`` as a pickle may use it: its arguments checked first.

    Args:
        obj: an entry of the allow-list.
        check_keys: refuses dict keys / set members that are not cheap to hash.
        max_items: the largest ``range`` that may be built.
        lazy_buffer: called instead of numpy's ``_frombuffer`` for a buffer left in the file.
    """
    keys = check_keys
    name = getattr(obj, "__name__", str(obj))

    def seq(x: Any) -> bool:
        return type(x) in _SEQUENCES

    if obj is np.ndarray:
        return NDARRAY
    if obj in (list, tuple):

        def build(*a: Any) -> Any:
            if a and (len(a) > 1 or not seq(a[0])):
                raise Refused(f"{name}() of {type(a[0]).__name__}")
            return obj(*a)
    elif obj in (set, frozenset):

        def build(*a: Any) -> Any:
            if a and (len(a) > 1 or not seq(a[0])):
                raise Refused(f"{name}() of {type(a[0]).__name__}")
            if a:
                keys(a[0])
            return obj(*a)
    elif obj in (dict, OrderedDict):

        def build(*a: Any) -> Any:
            if a and (len(a) > 1 or not seq(a[0])):
                raise Refused(f"{name}() of {type(a[0]).__name__}")
            if a:
                for pair in a[0]:
                    if type(pair) not in _SEQUENCES or len(pair) != 2:
                        raise Refused(f"{name}() of something other than (key, value) pairs")
                    keys((pair[0],))
            return obj(*a)
    elif obj in (bytes, bytearray, str):

        def build(*a: Any) -> Any:
            if (
                a
                and not isinstance(a[0], (str, bytes, bytearray))
                and not (obj is not str and seq(a[0]))
            ):
                raise Refused(f"{name}() of {type(a[0]).__name__}")
            return obj(*a)
    elif obj is range:

        def build(*a: Any) -> Any:
            r = range(*a)
            if len(r) > max_items:
                raise Refused(f"range of {len(r)} elements (max_items={max_items})")
            return r
    elif obj is np.dtype:

        def build(spec: Any, align: Any = False, copy: Any = False) -> Any:
            if not isinstance(spec, str) or len(spec) > 64:
                raise Refused("numpy.dtype() of something other than a type string")
            return np.dtype(spec, bool(align), bool(copy))
    elif name == "_reconstruct":

        def build(subtype: Any, shape: Any, dtype: Any) -> Any:
            if subtype is not NDARRAY:
                raise Refused("_reconstruct of a type other than numpy.ndarray")
            if (
                type(shape) is not tuple
                or len(shape) > 32
                or any(type(d) is not int or not 0 <= d <= 1 for d in shape)
            ):
                raise Refused(f"_reconstruct with shape {shape!r:.40}; numpy writes (0,)")
            return obj(np.ndarray, shape, dtype)
    elif name == "_frombuffer" and lazy_buffer is not None:

        def build(buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
            if isinstance(buf, LazyBytes):
                return lazy_buffer(buf, dtype, shape, order)
            return obj(buf, dtype, shape, order)
    else:
        return obj
    build.__name__ = name
    return build


def check_keys(items: Any, max_key_items: int, path: object) -> None:
    """Dict keys / set members must be cheap to hash: atoms or small tuples of atoms."""
    for k in items:
        t = type(k)
        if t in _ATOMS or t is frozenset or isinstance(k, np.generic):
            continue
        if t is tuple:
            _check_tuple_key(k, max_key_items, path)
            continue
        raise Refused(f"a dict key or set member of type {t.__name__}")


def _check_tuple_key(key: tuple, max_key_items: int, path: object) -> None:
    budget = max_key_items
    todo = [key]
    while todo:
        t = todo.pop()
        budget -= len(t)
        if budget < 0:
            raise PickleLimitError(
                "a dict key or set member is a tuple holding more elements",
                limit="max_key_items",
                value=max_key_items,
                path=path,
            )
        for k in t:
            if type(k) is tuple:
                todo.append(k)
            elif not (type(k) in _ATOMS or type(k) is frozenset or isinstance(k, np.generic)):
                raise Refused(f"a dict key or set member holding {type(k).__name__}")
