"""Bounded walks over an unpickled object graph: depth, reachable elements, cycles.

A pickle describes a graph, not a tree: with shared references a few hundred bytes reach 2^30
elements, and a consumer that walks the result as a tree (``np.asarray``, ``repr``, a recursive
cleaner) does that much work. :func:`check_graph` measures, in one pass that visits every
container once, what such a walk would meet -- the nesting depth and the number of container
elements reached, shared ones counted at every reference -- and refuses the graph when either
exceeds its limit, or when it has a cycle. It never recurses, so depth costs no stack.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from infofusion.data._pickle_lazy import LazyBytes
from infofusion.errors import FormatError, PickleLimitError

__all__ = ["check_graph", "materialize"]

_MAPPINGS = (dict, OrderedDict)
_SEQS = (list, tuple)
_KEYED = (set, frozenset)
_NESTED = frozenset({dict, OrderedDict, list, tuple, set, frozenset, np.ndarray})


def _members(obj: Any) -> tuple[int, list[Any]]:
    """(number of elements, the nested containers among them) of one container."""
    t = type(obj)
    if t is np.ndarray:
        if obj.dtype != object:
            # numeric payloads are one element; an itemsize-0 array has no bytes behind its size
            return (obj.size if obj.dtype.itemsize == 0 else 0), []
        seq: Any = obj.ravel().tolist()
    elif t in _MAPPINGS:
        seq = list(obj.values())
    elif t in _KEYED:
        return len(obj), []  # members were checked on loading: atoms or small tuples
    else:
        seq = obj
    n = len(seq)
    if _NESTED.isdisjoint(set(map(type, seq))):
        return n, []
    return n, [v for v in seq if type(v) in _NESTED]


def check_graph(root: Any, *, max_depth: int, max_items: int, path: object = None) -> None:
    """Refuse ``root`` if a tree walk of it goes deeper than ``max_depth`` levels or reaches more
    than ``max_items`` container elements, or if it contains a cycle.

    Raises:
        PickleLimitError: a limit is exceeded (names the limit and the file).
        FormatError: the graph has a cycle.
    """
    if type(root) not in _NESTED:
        return

    def too_many() -> PickleLimitError:
        return PickleLimitError(
            "a full traversal (shared references counted each time they are reached) meets "
            "more container elements",
            limit="max_items",
            value=max_items,
            path=path,
        )

    def too_deep() -> PickleLimitError:
        return PickleLimitError("nesting is deeper", limit="max_depth", value=max_depth, path=path)

    done: dict[int, tuple[int, int]] = {}  # id -> (height, elements reached within it)
    active: set[int] = set()  # containers on the current path (a cycle returns to one)
    n, kids = _members(root)
    if n > max_items:
        raise too_many()
    # frame: [container, children still to visit, height so far, elements so far]
    stack: list[list[Any]] = [[root, kids, 1, n]]
    active.add(id(root))
    while stack:
        frame = stack[-1]
        if frame[1]:
            child = frame[1].pop()
            cid = id(child)
            if cid in done:  # shared: its measure is known
                height, items = done[cid]
                if len(stack) + height > max_depth:
                    raise too_deep()
                frame[2] = max(frame[2], height + 1)
                frame[3] += items
            elif cid in active:
                raise FormatError(
                    "the pickle holds a cyclic reference (a container inside itself), which "
                    "is not data",
                    path=path,
                )
            else:
                if len(stack) >= max_depth:
                    raise too_deep()
                n, grandkids = _members(child)
                if n > max_items:
                    raise too_many()
                stack.append([child, grandkids, 1, n])
                active.add(cid)
                continue
        else:
            stack.pop()
            active.discard(id(frame[0]))
            done[id(frame[0])] = (frame[2], frame[3])
            if not stack:
                break
            parent = stack[-1]
            parent[2] = max(parent[2], frame[2] + 1)
            parent[3] += frame[3]
            frame = parent
        if frame[3] > max_items:
            raise too_many()


def materialize(root: Any) -> Any:
    """``root`` with every :class:`LazyBytes` left outside an array read back (lists and dicts
    are updated in place, tuples rebuilt). Iterative; call only on a checked graph."""
    if type(root) is LazyBytes:
        return root.read()
    if type(root) not in _NESTED:
        return root
    new: dict[int, Any] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    seen: set[int] = set()
    while stack:
        obj, expanded = stack.pop()
        t = type(obj)
        if not expanded:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            stack.append((obj, True))
            values = obj.values() if t in _MAPPINGS else obj if t in _SEQS else ()
            stack.extend((v, False) for v in values if type(v) in _NESTED)
            continue

        def fix(v: Any) -> Any:
            if type(v) is LazyBytes:
                return v.read()
            return new.get(id(v), v)

        if t in _MAPPINGS:
            for k, v in obj.items():
                w = fix(v)
                if w is not v:
                    obj[k] = w
        elif t is list:
            for i, v in enumerate(obj):
                w = fix(v)
                if w is not v:
                    obj[i] = w
        elif t is tuple:
            items = [fix(v) for v in obj]
            if any(w is not v for w, v in zip(items, obj, strict=True)):
                new[id(obj)] = tuple(items)
    return new.get(id(root), root)
