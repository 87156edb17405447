"""Shared checks and array plumbing for the format loaders.

Every check raises :class:`~infofusion.errors.FormatError` naming the file and the key
(``"train/audio"``, ``"dev[12]"``...), so a malformed download is reported where it is wrong.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.data.safe_pickle import LazyArray
from infofusion.errors import ConfigError, DataValidationError, FormatError, MissingDependencyError

# Rows processed at a time by in-place passes, so a pass over a multi-GB array needs only a
# small temporary mask.
_CHUNK_BYTES = 64 * 2**20


@contextlib.contextmanager
def no_hugepages() -> Iterator[None]:
    """Allocate without numpy's ``madvise(MADV_HUGEPAGE)`` inside the block.

    numpy asks for transparent huge pages for every large array. On hosts whose memory is
    full of page cache -- as it is right after a multi-GB feature file was read -- each huge
    page fault may then stall in direct compaction: filling a fresh 2.6 GB array took 4 to
    13 s instead of 3 s in our benchmark. Loaders fill their arrays once, sequentially, so
    ordinary pages lose nothing.
    """
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy 1.x
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:  # pragma: no cover - platforms without the switch
            yield
            return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


def require_path(arg: str | os.PathLike[str] | None, fmt: str, *, directory: bool = False) -> Path:
    """The path given to a loader, which must exist (a directory when ``directory``)."""
    if arg is None or not str(arg).strip():
        raise ConfigError(f"the '{fmt}' loader needs a path, e.g. '{fmt}:/path/to/file'")
    path = Path(os.path.expanduser(str(arg).strip()))
    if not path.exists():
        raise FormatError("no such file or directory", path=path)
    if directory and not path.is_dir():
        raise FormatError(f"the '{fmt}' loader expects a directory", path=path)
    if not directory and path.is_dir():
        raise FormatError(f"the '{fmt}' loader expects a file, got a directory", path=path)
    return path


def require_mapping(obj: Any, path: Path, key: str | None, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise FormatError(
            f"expected {what} (a dict), found {type(obj).__name__}", path=path, key=key
        )
    return obj


def require_key(mapping: Mapping[str, Any], key: str, path: Path, prefix: str = "") -> Any:
    """``mapping[key]``, or a FormatError naming ``prefix + key`` and what is there instead."""
    if key not in mapping:
        have = ", ".join(sorted(map(str, mapping))) or "nothing"
        what = "split" if not prefix else "key"
        raise FormatError(f"missing {what} (found: {have})", path=path, key=prefix + key)
    return mapping[key]


def numeric_array(
    value: Any, path: Path, key: str, *, ndim: Sequence[int] | None = None, lazy: bool = False
) -> Any:
    """``value`` as a numeric (int/uint/float/bool) numpy array of an expected rank.

    With ``lazy=True`` a :class:`LazyArray` (still in its file) is checked and returned as is.
    """
    if isinstance(value, LazyArray) and not lazy:
        value = value.load()
    try:
        arr = value if isinstance(value, LazyArray) else np.asarray(value)
    except Exception as exc:  # ragged nested lists
        raise FormatError(f"cannot be read as an array ({exc})", path=path, key=key) from exc
    if arr.dtype.kind not in "fiub":
        raise FormatError(
            f"wrong dtype {arr.dtype}: expected numbers (float or int)", path=path, key=key
        )
    if ndim is not None and arr.ndim not in ndim:
        raise FormatError(
            f"expected {' or '.join(f'{d}-d' for d in ndim)} array, got shape {arr.shape}",
            path=path,
            key=key,
        )
    return arr


def check_count(arr: Any, n: int, path: Path, key: str, reference: str) -> None:
    try:
        got = len(arr)
    except TypeError:
        raise FormatError(
            f"expected one entry per sample, found {type(arr).__name__}", path=path, key=key
        ) from None
    if got != n:
        raise FormatError(
            f"inconsistent sample counts: {got} rows but '{reference}' has {n}", path=path, key=key
        )


def concat(parts: list[Any], path: Path, keys: list[str], dtype: Any = np.float32) -> np.ndarray:
    """Stack per-split arrays along the first axis into one new ``dtype`` array.

    :class:`LazyArray` parts are read from their file straight into their rows of the result
    (one copy of the data in all); in-memory parts are copied, and the list is emptied as it
    goes so each split's buffer can be freed as soon as possible.
    """
    tail = parts[0].shape[1:]
    for arr, key in zip(parts, keys, strict=True):
        if arr.shape[1:] != tail:
            raise FormatError(
                f"shape {arr.shape} does not match {keys[0]} {parts[0].shape} beyond the sample "
                "axis",
                path=path,
                key=key,
            )
    with no_hugepages():
        out = np.empty((sum(len(p) for p in parts),) + tail, dtype=dtype)
    pos = 0
    while parts:
        arr = parts.pop(0)
        if isinstance(arr, LazyArray):
            arr.read_into(out[pos : pos + len(arr)])
        else:
            out[pos : pos + len(arr)] = arr
        pos += len(arr)
        del arr
    return out


def replace_neginf(arr: np.ndarray) -> int:
    """Set ``-inf`` entries of a float array to 0 in place (chunked); returns how many."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return 0
    flat = arr.reshape(len(arr), -1)
    step = max(1, _CHUNK_BYTES // max(1, flat.shape[1] * arr.itemsize))
    count = 0
    for start in range(0, len(flat), step):
        block = flat[start : start + step]
        bad = np.isneginf(block)
        k = int(np.count_nonzero(bad))
        if k:
            block[bad] = 0.0
            count += k
    return count


def first_nonfinite(arr: np.ndarray) -> int | None:
    """Index of the first sample holding NaN/inf, or None (chunked, small temporaries)."""
    if arr.dtype.kind != "f":
        return None
    flat = arr.reshape(len(arr), -1)
    step = max(1, _CHUNK_BYTES // max(1, flat.shape[1] * arr.itemsize))
    for start in range(0, len(flat), step):
        ok = np.isfinite(flat[start : start + step]).all(axis=1)
        if not ok.all():
            return start + int(np.flatnonzero(~ok)[0])
    return None


def check_label_range(
    y: np.ndarray, low: float, high: float, path: Path, key: str, protocol: str
) -> None:
    if y.size == 0:
        return
    if not np.isfinite(y).all():
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise FormatError(f"label at index {i} is not finite", path=path, key=key)
    lo, hi = float(np.min(y)), float(np.max(y))
    if lo < low or hi > high:
        bad = int(np.flatnonzero((y < low) | (y > high))[0])
        raise FormatError(
            f"label {float(y[bad]):g} at index {bad} is outside [{low:g}, {high:g}], the range "
            f"of the '{protocol}' protocol",
            path=path,
            key=key,
        )


def to_str_array(value: Any, n: int, path: Path, key: str) -> np.ndarray:
    """An ``(n,)`` object array of str (bytes decoded; 2-d ids joined with ``_``)."""
    arr = np.asarray(value, dtype=object)
    if arr.ndim == 2 and arr.shape[0] == n:
        arr = np.array(["_".join(_as_text(v) for v in row) for row in arr], dtype=object)
    elif arr.ndim == 1 and arr.shape[0] == n:
        arr = np.array([_as_text(v) for v in arr], dtype=object)
    else:
        raise FormatError(f"expected {n} entries, got shape {arr.shape}", path=path, key=key)
    return arr


def _as_text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return _as_text(v.item())
    return str(v)


def unique_ids(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Ids made unique by suffixing repeats with ``#k``; returns (ids, number changed)."""
    seen: dict[str, int] = {}
    out = ids.copy()
    changed = 0
    for i, v in enumerate(ids):
        k = seen.get(v, 0)
        if k:
            out[i] = f"{v}#{k}"
            changed += 1
        seen[v] = k + 1
    return out, changed


def split_positions(sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Consecutive index ranges for splits stacked in the given order."""
    out, pos = {}, 0
    for name, k in sizes.items():
        out[name] = np.arange(pos, pos + k)
        pos += k
    return out


def locate(row: int, sizes: Mapping[str, int]) -> tuple[str, int]:
    """(split, index within split) of a row of splits stacked in order."""
    for s, k in sizes.items():
        if row < k:
            return s, row
        row -= k
    return "?", row


def pad_sequences(
    seqs: Sequence[np.ndarray], dtype: Any = np.float32, max_len: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """List of ``(T_i, D)`` arrays -> zero-padded ``(N, T, D)`` array and ``(N,)`` lengths.

    Lengths are clipped to at least 1 (an empty sequence becomes one zero step) and to
    ``max_len`` when given (longer sequences keep their first ``max_len`` steps).
    """
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    t = int(lengths.max()) if len(lengths) else 1
    if max_len is not None:
        t = min(t, int(max_len))
    t = max(t, 1)
    dim = next((s.shape[1] for s in seqs if s.ndim == 2), 1)
    out = np.zeros((len(seqs), t, dim), dtype=dtype)
    for i, s in enumerate(seqs):
        k = min(len(s), t)
        if k:
            out[i, :k] = s[:k]
    return out, np.clip(lengths, 1, t)


def build(
    path: Path,
    *,
    sizes: Mapping[str, int] | None = None,
    keys: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> MultimodalDataset:
    """Construct the container; a validation failure becomes a FormatError naming the file.

    The container checks every feature for NaN/inf (after the loader cleaned what its format
    is known to hold); only when that check fails is the first bad sample located again, so
    the error can name the split and file key (``sizes``: split sizes in stacking order,
    ``keys``: modality -> key in the file).
    """
    try:
        with no_hugepages():  # the container's checks allocate full-size temporaries
            return MultimodalDataset(**kwargs)
    except DataValidationError as exc:
        mod = exc.modality
        key = (keys or {}).get(mod, mod) if mod else None
        if exc.problem == "nan" and mod in kwargs.get("modalities", {}):
            row = first_nonfinite(np.asarray(kwargs["modalities"][mod]))
            if row is not None:
                where = f"sample {row}"
                if sizes:
                    split, row = locate(row, sizes)
                    key, where = f"{split}/{key}", f"sample {row}"
                raise FormatError(
                    f"{where} contains NaN or inf (only -inf is expected in this format, and "
                    "it is set to 0 where the format is known to hold it)",
                    path=path,
                    key=key,
                ) from exc
        raise FormatError(str(exc), path=path, key=key) from exc


def carve_valid(ds: MultimodalDataset, fraction: float, seed: int) -> MultimodalDataset:
    """Carve a (stratified) validation split out of ``train``; records fraction and seed."""
    if fraction is None or fraction == 0:
        ds.info["valid_carved"] = 0
        return ds
    if not 0 < fraction < 1:
        raise ConfigError(f"valid_fraction must be in [0, 1), got {fraction}")
    out = ds.random_splits((1.0 - fraction, fraction, 0.0), seed=seed, within="train")
    out.info = dict(ds.info)
    out.info.update(valid_carved=1, valid_fraction=float(fraction), valid_seed=int(seed))
    return out


def require_h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is a declared extra
        raise MissingDependencyError(
            "reading HDF5 files needs h5py: pip install 'infofusion[formats]'"
        ) from exc
    return h5py
