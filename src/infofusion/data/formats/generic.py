"""Generic feature files: one file with named arrays, or one file per modality.

**One file** (``.npz``, ``.h5``/``.hdf5`` or ``.parquet``) holding named arrays:

* ``target`` (aliases ``y``, ``label``, ``labels``): ``(N,)`` class indices or scores;
* ``ids`` (alias ``id``): ``(N,)`` strings, optional;
* ``split``: ``(N,)`` strings ``train``/``valid``/``test``, or ``train_idx``, ``valid_idx``,
  ``test_idx`` index arrays, optional (default: everything is train);
* ``<modality>_lengths``: ``(N,)`` valid lengths of a sequence modality, optional;
* every other array is a modality, ``(N,)``, ``(N, D)`` or ``(N, T, D)``.

In a parquet file each column is one feature: columns ``<modality>.<feature>`` are grouped
into the modality ``<modality>`` (in column order); a column without a dot is a 1-feature
modality; ``target``/``id``/``split`` are read as above.

**One file per modality**: a directory with ``<modality>.npz|.npy|.h5|.hdf5|.parquet`` (the
array ``data`` -- or the only array -- plus optional ``lengths``) and a ``target`` file
(``target.npz|.npy|.h5|.hdf5|.parquet``) holding the target and optionally ``ids`` and the split
arrays. Numpy files are read with ``allow_pickle=False``: store strings as fixed-width
unicode, not object arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.data.formats import _common as c
from infofusion.errors import ConfigError, FormatError, MissingDependencyError
from infofusion.registry import register

SUFFIXES = (".npz", ".npy", ".h5", ".hdf5", ".parquet")
TARGET_KEYS = ("target", "y", "label", "labels")
ID_KEYS = ("ids", "id")
SPLIT_KEYS = ("split", "train_idx", "valid_idx", "test_idx")


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every named array in an ``.npz``/``.npy``/HDF5/parquet file (no pickles executed)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise FormatError(f"unsupported file type (use one of {', '.join(SUFFIXES)})", path=path)
    if path.is_dir():
        raise FormatError(f"expected a {suffix} file, got a directory", path=path)
    _check_magic(path, suffix)
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        if suffix == ".npy":
            return {path.stem: np.load(path, allow_pickle=False)}
        if suffix in (".h5", ".hdf5"):
            return _read_h5(path)
        if suffix == ".parquet":
            return _read_parquet(path)
    except FormatError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise FormatError(
                "holds an object array, which would need pickle to load; store strings as "
                "fixed-width unicode (e.g. arr.astype(str))",
                path=path,
            ) from exc
        raise FormatError(f"cannot read ({exc}); truncated or corrupt?", path=path) from exc
    except Exception as exc:  # zipfile.BadZipFile, EOFError, OSError, ArrowInvalid ...
        raise FormatError(
            f"cannot read ({type(exc).__name__}: {exc}); truncated or corrupt?", path=path
        ) from exc
    raise AssertionError(suffix)  # pragma: no cover - every suffix returned above


# the first bytes every file of a format starts with (parquet also ends with PAR1)
_MAGIC = {
    ".npz": (b"PK\x03\x04", b"PK\x05\x06"),
    ".npy": (b"\x93NUMPY",),
    ".h5": (b"\x89HDF\r\n\x1a\n",),
    ".hdf5": (b"\x89HDF\r\n\x1a\n",),
    ".parquet": (b"PAR1", b"PARE"),  # PARE: encrypted footer
}
_FORMAT_NAMES = {
    ".npz": "a numpy .npz (zip) archive",
    ".npy": "a numpy .npy array",
    ".h5": "an HDF5 file",
    ".hdf5": "an HDF5 file",
    ".parquet": "a parquet file",
}


def _check_magic(path: Path, suffix: str) -> None:
    """A file whose first bytes are not its format's signature is refused before a reader
    guesses at it (numpy would try to unpickle a .npz/.npy it does not recognise)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if head and not head.startswith(_MAGIC[suffix]) and suffix in (".h5", ".hdf5"):
                # an HDF5 file may start with a user block: the signature is then at 512,
                # 1024, 2048, ... bytes
                size, offset = path.stat().st_size, 512
                while offset + 8 <= size and not head.startswith(_MAGIC[suffix]):
                    fh.seek(offset)
                    head, offset = fh.read(8), offset * 2
    except OSError as exc:
        raise FormatError(f"cannot open ({exc.strerror or exc})", path=path) from exc
    if not head:
        raise FormatError(
            f"the file is empty (0 bytes), expected {_FORMAT_NAMES[suffix]}", path=path
        )
    if not head.startswith(_MAGIC[suffix]):
        raise FormatError(
            f"not {_FORMAT_NAMES[suffix]}: the file does not start with the format's signature "
            "(wrong extension, or not written by numpy/h5py/pyarrow?)",
            path=path,
        )


def _read_h5(path: Path) -> dict[str, np.ndarray]:
    h5py = c.require_h5py()
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as fh:

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                arr = obj[()]
                if isinstance(arr, np.ndarray) and arr.dtype.kind in "OS":
                    arr = np.array(
                        [v.decode() if isinstance(v, bytes) else str(v) for v in arr.reshape(-1)]
                    ).reshape(arr.shape)
                out[name] = np.asarray(arr)

        fh.visititems(visit)
    return out


def _read_parquet(path: Path) -> dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is a declared extra
        raise MissingDependencyError(
            "reading parquet files needs pyarrow: pip install 'infofusion[formats]'"
        ) from exc
    table = pq.read_table(path)
    groups: dict[str, list[str]] = {}
    for col in table.column_names:
        head = col.split(".", 1)[0] if "." in col else col
        groups.setdefault(head, []).append(col)
    out: dict[str, np.ndarray] = {}
    for head, cols in groups.items():
        arrays = [table.column(col).to_numpy(zero_copy_only=False) for col in cols]
        if len(cols) == 1 and "." not in cols[0]:
            out[head] = np.asarray(arrays[0])
        else:
            out[head] = np.stack(arrays, axis=1)
    return out


def _pick(arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for k in keys:
        if k in arrays:
            return k, arrays.pop(k)
    return None, None


def _modality_file(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    arrays = read_arrays(path)
    lengths = arrays.pop("lengths", None)
    if path.suffix.lower() == ".parquet" and len(arrays) > 1:
        # a per-modality parquet file: every column is one feature of this modality
        return np.column_stack(
            [np.asarray(a).reshape(len(a), -1) for a in arrays.values()]
        ), lengths
    if "data" in arrays:
        data = arrays["data"]
    elif "x" in arrays:
        data = arrays["x"]
    elif len(arrays) == 1:
        data = next(iter(arrays.values()))
    else:
        raise FormatError(
            f"a modality file must hold one array (or 'data' and 'lengths'), found "
            f"{', '.join(sorted(arrays))}",
            path=path,
        )
    return data, lengths


@register(
    "dataset",
    "generic",
    help="Named arrays in one .npz/.h5/.parquet file, or one file per modality (generic:PATH)",
)
def load_generic(
    arg: str | None,
    *,
    modalities: list[str] | str | None = None,
    task: str | None = None,
    protocol: str | None = None,
    valid_fraction: float = 0.0,
    seed: int = 0,
    relabel: bool = False,
    name: str | None = None,
) -> MultimodalDataset:
    """Named arrays in one .npz/.h5/.parquet file, or one file per modality: ``generic:PATH``.

    Args:
        arg: a file with named arrays, or a directory with one file per modality plus a
            ``target`` file (see the module docstring for the layout).
        modalities: keep only these modalities (list or comma-separated string).
        task: ``"classification"`` or ``"regression"``. When None it is the task of
            ``protocol`` if one is given, else inferred: an integer target is classes, a float
            target scores -- but a float target of few whole numbers (``0.0/1.0``) is refused
            as ambiguous: give ``task`` (or ``protocol``) then.
        protocol: metric protocol recorded in ``info["protocol"]`` (default
            ``"classification"`` or ``"regression"`` after the task); a ``ConfigError`` if
            it is unknown or for the other task.
        valid_fraction: when the data has no ``valid`` split, carve this share of train
            (stratified) with ``seed``; 0 (default) leaves the splits as they are.
        seed: seed of that carving.
        relabel: map the class labels, whatever they are (``{0, 1000000}``, ``{-1, 1}``,
            strings), to ``0..C-1`` in sorted order; the original labels are recorded in
            ``info["classes"]`` (label ``i`` is ``info["classes"][i]``). Implies
            classification. Without it, labels must already be ``0..C-1``.
        name: dataset name (default: the file or directory stem).

    Raises:
        FormatError: unreadable/truncated file, missing target, wrong dtype, inconsistent
            sample counts (each names the file and the array).
        ConfigError: an unknown modality in ``modalities`` (the available ones are named), an
            invalid ``task``/``protocol``/``valid_fraction``.
    """
    if arg is None or not str(arg).strip():
        raise ConfigError("the 'generic' loader needs a path, e.g. 'generic:/path/data.npz'")
    if task not in (None, "classification", "regression"):
        raise ConfigError(f"task must be 'classification' or 'regression', got {task!r}")
    if protocol is not None:
        from infofusion.evaluation.metrics import PROTOCOLS

        if protocol not in PROTOCOLS:
            raise ConfigError(
                f"unknown metric protocol {protocol!r} (available: {', '.join(PROTOCOLS)})"
            )
        if task is not None and PROTOCOLS[protocol] != task:
            raise ConfigError(
                f"metric protocol {protocol!r} is for {PROTOCOLS[protocol]} tasks, not {task}"
            )
        task = PROTOCOLS[protocol]  # a protocol states the task
    if relabel:
        if task == "regression":
            raise ConfigError("relabel=true maps class labels: it needs task='classification'")
        task = "classification"
    path = Path(str(arg).strip()).expanduser()
    if not path.exists():
        raise FormatError("no such file or directory", path=path)
    sources: dict[str, Path] = {}
    lengths: dict[str, np.ndarray] = {}
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        tfiles = [p for p in files if p.stem in TARGET_KEYS]
        if not tfiles:
            raise FormatError(
                f"no target file (expected one of {', '.join(k + '.npz' for k in TARGET_KEYS)} ...)",
                path=path,
                key="target",
            )
        tpath = tfiles[0]
        meta = read_arrays(tpath)
        if tpath.suffix.lower() == ".npy":
            meta = {"target": meta[tpath.stem]}
        mods: dict[str, np.ndarray] = {}
        for p in files:
            if p in tfiles or p.stem in ID_KEYS + SPLIT_KEYS:
                if p.stem in ID_KEYS + SPLIT_KEYS:
                    meta.update(read_arrays(p))
                continue
            if p.stem in mods:
                raise FormatError(f"two files for modality '{p.stem}'", path=p)
            mods[p.stem], ln = _modality_file(p)
            sources[p.stem] = p
            if ln is not None:
                lengths[p.stem] = ln
    else:
        tpath = path
        mods = read_arrays(path)
        meta = {}
        for k in list(mods):
            if k in TARGET_KEYS + ID_KEYS + SPLIT_KEYS:
                meta[k] = mods.pop(k)
        for k in list(mods):
            if k.endswith("_lengths") and k[: -len("_lengths")] in mods:
                lengths[k[: -len("_lengths")]] = mods.pop(k)
        sources = {k: path for k in mods}
    tkey, y = _pick(meta, TARGET_KEYS)
    if tkey is None:
        raise FormatError(
            f"no target array (named one of {', '.join(TARGET_KEYS)})", path=tpath, key="target"
        )
    classes = None
    if relabel:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise FormatError(f"target must be (N,), got shape {y.shape}", path=tpath, key=tkey)
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            i = int(np.flatnonzero(~np.isfinite(y))[0])
            raise FormatError(f"label at index {i} is not finite", path=tpath, key=tkey)
        y, classes = MultimodalDataset.encode_labels(y)
    y = c.numeric_array(y, tpath, tkey)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise FormatError(f"target must be (N,), got shape {y.shape}", path=tpath, key=tkey)
    n = len(y)
    if isinstance(modalities, str):
        modalities = [m.strip() for m in modalities.split(",") if m.strip()]
    if modalities:
        missing = [m for m in modalities if m not in mods]
        if missing:
            raise ConfigError(
                f"modalities: unknown modality {', '.join(map(repr, missing))} in '{path}' "
                f"(available: {', '.join(mods)})"
            )
        if len(set(modalities)) != len(modalities):
            raise ConfigError(f"modalities: a modality is named twice in {modalities}")
        mods = {m: mods[m] for m in modalities}
        lengths = {m: v for m, v in lengths.items() if m in mods}
    if not mods:
        raise FormatError("no modality arrays found", path=path)
    for m, arr in mods.items():
        mods[m] = c.numeric_array(arr, sources[m], m, ndim=(1, 2, 3))
        c.check_count(mods[m], n, sources[m], m, tkey)
    for m, ln in lengths.items():
        lengths[m] = c.numeric_array(ln, sources[m], f"{m}_lengths", ndim=(1,))
        c.check_count(lengths[m], n, sources[m], f"{m}_lengths", tkey)
    _, ids = _pick(meta, ID_KEYS)
    if ids is not None:
        c.check_count(ids, n, tpath, "ids", tkey)
        ids = c.to_str_array(ids, n, tpath, "ids")
    splits: Any = None
    if "split" in meta:
        splits = np.asarray(meta["split"]).astype(str)
        c.check_count(splits, n, tpath, "split", tkey)
    elif any(k in meta for k in SPLIT_KEYS[1:]):
        splits = {
            k[: -len("_idx")]: c.numeric_array(meta[k], tpath, k, ndim=(1,)).astype(np.int64)
            for k in SPLIT_KEYS[1:]
            if k in meta
        }
    ds = c.build(
        path,
        modalities=mods,
        target=y,
        task=task,  # type: ignore[arg-type]
        lengths=lengths,
        splits=splits,
        ids=ids,
        name=name or path.stem,
        info={"format": "generic", "source": str(path)},
    )
    ds.info["protocol"] = protocol or ds.task
    if classes is not None:
        ds.info["classes"] = list(classes)
        ds.info["relabelled"] = 1
    if valid_fraction and "valid" not in ds.splits:
        ds = c.carve_valid(ds, valid_fraction, seed)
    return ds
