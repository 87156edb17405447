"""MultimodalDataset: the one container every loader produces and every method consumes.

Any number of named modalities (vectors ``(N, D)`` or padded sequences ``(N, T, D)`` with
lengths; the padding is never read), a target (class index or score), sample ids, named splits and per-sample metadata.
Everything is validated on creation; each violation raises :class:`DataValidationError` naming
the modality and the problem. Batches are cut by tensor indexing (no per-sample collate).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from infofusion.errors import ConfigError, DataValidationError
from infofusion.functional.pooling import lengths_mask, masked_mean, select_valid
from infofusion.interfaces import SPLITS, Batch, ModalitySpec, TaskSpec, TaskType


def _as_array(value: Any, what: str, modality: str | None = None) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, "to_numpy"):  # pandas
        return value.to_numpy()
    try:
        return np.asarray(value)
    except Exception as exc:  # ragged lists etc.
        raise DataValidationError(
            f"{what} cannot be read as an array ({exc})", modality=modality, problem="not_array"
        ) from exc


MAX_INFERRED_CLASSES = 20
"""A float target of at most this many distinct whole numbers is ambiguous when no task is given."""


def _infer_task(y: np.ndarray) -> TaskType:
    """The task a target implies by itself: integers are classes, floats are scores -- except
    floats that are all whole numbers with few distinct values (``0.0/1.0`` labels), which are
    refused: the caller must say which task is meant."""
    if y.dtype.kind in "iub":
        return "classification"
    if y.dtype.kind != "f":
        raise DataValidationError(
            f"cannot infer the task from target dtype {y.dtype}; give task= and a "
            "numeric target (class labels as integers, scores as floats)",
            problem="target_dtype",
        )
    finite = y[np.isfinite(y)]
    if finite.size == y.size and np.array_equal(finite, np.round(finite)):
        values = np.unique(finite)
        if len(values) <= MAX_INFERRED_CLASSES:
            shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
            raise DataValidationError(
                f"the target holds floats that are all whole numbers ({len(values)} distinct: "
                f"{shown}): class labels or scores? State the task: task='classification' "
                "(the values become class indices) or task='regression' (for a loader: the "
                "option task=classification|regression)",
                problem="ambiguous_task",
            )
    return "regression"


def check_fractions(fractions: Any) -> tuple[float, float, float]:
    """(train, valid, test) shares: three finite numbers >= 0 summing to 1."""
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or not all(np.isfinite(v) and v >= 0 for v in values):
        raise ConfigError(
            f"split fractions must be three numbers >= 0 (train, valid, test), got {fractions!r}"
        )
    if abs(sum(values) - 1.0) > 1e-6:
        raise ConfigError(f"split fractions {fractions!r} do not sum to 1")
    return values  # type: ignore[return-value]


def _raise_non_finite(
    name: str, arr: np.ndarray, bad_rows: np.ndarray, valid: np.ndarray | None = None
) -> None:
    """Raise the ``nan`` :class:`DataValidationError` for ``bad_rows`` (valid steps only)."""
    if not len(bad_rows):
        return
    rows = arr[bad_rows] if valid is None else arr[bad_rows][valid[bad_rows]]
    kind = "NaN" if np.isnan(rows).any() else "inf"
    where = "" if valid is None else " (within their valid lengths)"
    raise DataValidationError(
        f"contains {kind} values in {len(bad_rows)} samples{where} (first at index "
        f"{int(bad_rows[0])}); clean or impute them before building the dataset",
        modality=name,
        problem="nan",
    )


@dataclass(frozen=True)
class Standardizer:
    """Per-feature mean/std fitted on one split (valid positions only for sequences)."""

    mean: np.ndarray
    std: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)


class MultimodalDataset:
    """Named modalities + target + splits, validated on creation.

    Args:
        modalities: name -> array ``(N, D)`` (1-d is read as ``(N, 1)``) or ``(N, T, D)``.
        target: ``(N,)`` class labels ``0..C-1`` (classification) or scores (regression).
            Ragged nested lists are refused (a DataValidationError naming the modality).
        task: ``"classification"`` or ``"regression"``. When None it is inferred: integers
            are classes, floats are scores, and floats that are all whole numbers with at most
            :data:`MAX_INFERRED_CLASSES` distinct values (``0.0``/``1.0`` labels) are refused
            as ambiguous. With ``task="classification"`` whole-number floats are class labels.
        lengths: name -> ``(N,)`` valid lengths for sequence modalities (default: full length).
            Only valid steps must be finite: the padding may hold anything (NaN, inf, junk)
            and is never read by the package (every sequence path selects valid steps).
        splits: split name (``train``/``valid``/``test``) -> sample indices, or an ``(N,)``
            array of split names. Default: every sample in ``train`` (then there is no
            ``valid`` or ``test`` split: see :meth:`has_split`).
        ids: ``(N,)`` unique sample ids (default ``"0"``, ``"1"``, ...).
        n_classes: number of classes. Default ``max(target) + 1``, and then every label in
            ``0..C-1`` must occur: labels such as ``{0, 1000000}`` are refused rather than read
            as a 1,000,001-class task (relabel them with :meth:`encode_labels`, or give
            ``n_classes`` when classes are absent on purpose).
        name: dataset name, recorded with results.
        sample_meta: per-sample side information (e.g. ground-truth interaction type), each an
            ``(N,)`` array.
        info: free-form dataset metadata (source file, protocol, feature names).

    Raises:
        DataValidationError: on any contract violation (the message names modality and problem).
    """

    def __init__(
        self,
        modalities: Mapping[str, Any],
        target: Any,
        *,
        task: TaskType | None = None,
        lengths: Mapping[str, Any] | None = None,
        splits: Mapping[str, Any] | Sequence[str] | np.ndarray | None = None,
        ids: Any = None,
        n_classes: int | None = None,
        name: str = "dataset",
        sample_meta: Mapping[str, Any] | None = None,
        info: Mapping[str, Any] | None = None,
        _validated: bool = False,
    ) -> None:
        self.name = name
        self.info: dict[str, Any] = dict(info or {})
        if _validated:  # internal fast path for subsets of an already-valid dataset
            self._x = dict(modalities)
            self._y = target
            self._lengths = dict(lengths or {})
            self._splits = dict(splits)  # type: ignore[arg-type]
            self.ids = ids
            self.task = task
            self.n_classes = n_classes
            self.sample_meta = dict(sample_meta or {})
            return
        if not isinstance(modalities, Mapping) or len(modalities) == 0:
            raise DataValidationError("at least one modality is required", problem="no_modality")
        y = _as_array(target, "target")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise DataValidationError(
                f"target must be 1-d (N,), got shape {y.shape}", problem="target_shape"
            )
        n = y.shape[0]
        if n == 0:
            raise DataValidationError("the dataset has no samples", problem="empty")
        self.task, self._y, self.n_classes = self._check_target(y, task, n_classes)
        self._x = {}
        for mname, value in modalities.items():
            if not isinstance(mname, str) or not mname:
                raise DataValidationError(
                    f"modality names must be non-empty strings, got {mname!r}", problem="name"
                )
            padded = lengths is not None and mname in lengths
            self._x[mname] = self._check_modality(mname, value, n, padded=padded)
        self._lengths = self._check_lengths(lengths or {})
        for mname in self._lengths:
            self._x[mname] = self._check_padded(mname, self._x[mname], self._lengths[mname])
        self.ids = self._check_ids(ids, n)
        self._splits = self._check_splits(splits, n)
        self.sample_meta = {}
        for key, value in (sample_meta or {}).items():
            arr = _as_array(value, f"sample_meta '{key}'")
            if arr.shape[:1] != (n,):
                raise DataValidationError(
                    f"sample_meta '{key}' has {arr.shape[0] if arr.ndim else 0} rows, "
                    f"expected {n}",
                    problem="count_mismatch",
                )
            self.sample_meta[key] = arr
        if self.task == "classification":
            train_y = self._y[self._splits["train"]] if "train" in self._splits else self._y
            if torch.unique(train_y).numel() < 2:
                raise DataValidationError(
                    "classification target has a single class in the training split "
                    f"(class {int(train_y[0]) if len(train_y) else 'none'})",
                    problem="single_class",
                )

    # ---------------------------------------------------------------- validation helpers
    @staticmethod
    def _check_target(
        y: np.ndarray, task: TaskType | None, n_classes: int | None
    ) -> tuple[TaskType, torch.Tensor, int]:
        if task is None:
            task = _infer_task(y)
        if task == "classification":
            if y.dtype.kind == "f":
                # a float target is read as classes only when the task says so explicitly
                bad = ~np.isfinite(y) | (y != np.round(y))
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise DataValidationError(
                        f"classification target must hold integer class indices, got dtype "
                        f"{y.dtype} with value {float(y[i])!r} at index {i} (map labels with "
                        "MultimodalDataset.encode_labels)",
                        problem="target_dtype",
                    )
            elif y.dtype.kind not in "iub":
                raise DataValidationError(
                    f"classification target must hold integer class indices, got dtype "
                    f"{y.dtype} (map labels with MultimodalDataset.encode_labels)",
                    problem="target_dtype",
                )
            y = y.astype(np.int64)
            if y.min() < 0:
                raise DataValidationError(
                    f"class labels must be >= 0, found {int(y.min())}", problem="target_range"
                )
            if n_classes is None:
                present = np.unique(y)
                k = int(present[-1]) + 1
                if len(present) != k:
                    shown = ", ".join(str(int(v)) for v in present[:6])
                    more = ", ..." if len(present) > 6 else ""
                    raise DataValidationError(
                        f"class labels must be 0..C-1: found {len(present)} distinct labels "
                        f"{{{shown}{more}}}, so the largest ({k - 1}) would make {k} classes, "
                        f"{k - len(present)} of them empty. Relabel them to 0..C-1 "
                        "(MultimodalDataset.encode_labels; loader option relabel=true) or give "
                        "n_classes= if classes are absent on purpose",
                        problem="target_range",
                    )
            else:
                k = int(n_classes)
            if y.max() >= k:
                raise DataValidationError(
                    f"class label {int(y.max())} is out of range for n_classes={k}",
                    problem="target_range",
                )
            if k < 2:
                raise DataValidationError(
                    "classification needs at least 2 classes", problem="single_class"
                )
            return "classification", torch.from_numpy(y), k
        if task == "regression":
            if y.dtype.kind not in "fiu":
                raise DataValidationError(
                    f"regression target must be numeric, got dtype {y.dtype}",
                    problem="target_dtype",
                )
            y = y.astype(np.float32)
            bad = ~np.isfinite(y)
            if bad.any():
                raise DataValidationError(
                    f"target has {int(bad.sum())} non-finite values (first at index "
                    f"{int(np.flatnonzero(bad)[0])})",
                    problem="nan",
                )
            return "regression", torch.from_numpy(y), 1
        raise DataValidationError(
            f"task must be 'classification' or 'regression', got {task!r}", problem="task"
        )

    @staticmethod
    def _check_modality(name: str, value: Any, n: int, padded: bool = False) -> torch.Tensor:
        """Shape, dtype and finiteness checks; ``padded``: a sequence with lengths, whose
        finiteness is checked on its valid steps by :meth:`_check_padded` instead."""
        arr = _as_array(value, "modality data", modality=name)
        if arr.dtype.kind not in "fiub":
            raise DataValidationError(
                f"features must be numeric, got dtype {arr.dtype}", modality=name, problem="dtype"
            )
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim not in (2, 3):
            raise DataValidationError(
                f"expected (N, D) or (N, T, D), got shape {arr.shape}",
                modality=name,
                problem="shape",
            )
        if arr.shape[0] != n:
            raise DataValidationError(
                f"has {arr.shape[0]} samples but the target has {n}",
                modality=name,
                problem="count_mismatch",
            )
        if arr.size == 0 or arr.shape[-1] == 0 or (arr.ndim == 3 and arr.shape[1] == 0):
            raise DataValidationError(
                f"is empty (shape {arr.shape})", modality=name, problem="empty"
            )
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if not arr.flags.writeable:  # e.g. pandas copy-on-write views: torch needs its own copy
            arr = arr.copy()
        if padded and arr.ndim == 3:
            return torch.from_numpy(arr)
        # A row holds a NaN/inf exactly when its float64 sum is not finite (finite float32
        # values cannot overflow a float64 sum); this needs (N,) memory, not a full-size mask.
        row_sums = arr.reshape(n, -1).sum(axis=1, dtype=np.float64)
        _raise_non_finite(name, arr, np.flatnonzero(~np.isfinite(row_sums)))
        return torch.from_numpy(arr)

    @staticmethod
    def _check_padded(name: str, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Valid steps of a padded sequence must be finite. The padding may hold anything
        (NaN, inf, junk): it is kept as given and never read, since every consumer selects
        valid steps (:mod:`infofusion.functional.pooling`)."""
        arr = x.numpy()
        valid = np.arange(arr.shape[1])[None, :] < lengths.numpy()[:, None]  # (N, T)
        step_sums = arr.sum(axis=2, dtype=np.float64)  # (N, T): NaN/inf iff the step has one
        bad_rows = np.flatnonzero((~np.isfinite(step_sums) & valid).any(axis=1))
        _raise_non_finite(name, arr, bad_rows, valid)
        return x

    def _check_lengths(self, lengths: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for name, value in lengths.items():
            if name not in self._x:
                raise DataValidationError(
                    "lengths given for an unknown modality", modality=name, problem="unknown"
                )
            x = self._x[name]
            if x.ndim != 3:
                raise DataValidationError(
                    "lengths given for a vector modality (lengths apply to (N, T, D) sequences)",
                    modality=name,
                    problem="lengths",
                )
            arr = _as_array(value, "lengths", modality=name)
            if arr.shape != (x.shape[0],) or arr.dtype.kind not in "iuf":
                raise DataValidationError(
                    f"lengths must be an (N,) integer array, got shape {arr.shape} dtype "
                    f"{arr.dtype}",
                    modality=name,
                    problem="lengths",
                )
            if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
                raise DataValidationError(
                    "lengths must be whole numbers", modality=name, problem="lengths"
                )
            arr = arr.astype(np.int64)
            if arr.min() < 1 or arr.max() > x.shape[1]:
                bad = int(np.flatnonzero((arr < 1) | (arr > x.shape[1]))[0])
                raise DataValidationError(
                    f"length {int(arr[bad])} at index {bad} is outside [1, {x.shape[1]}]",
                    modality=name,
                    problem="lengths",
                )
            out[name] = torch.from_numpy(arr)
        return out

    @staticmethod
    def _check_ids(ids: Any, n: int) -> np.ndarray:
        if ids is None:
            return np.array([str(i) for i in range(n)], dtype=object)
        arr = _as_array(ids, "ids").astype(str).astype(object)
        if arr.shape != (n,):
            raise DataValidationError(
                f"ids has shape {arr.shape}, expected ({n},)", problem="count_mismatch"
            )
        uniq, counts = np.unique(arr.astype(str), return_counts=True)
        if (counts > 1).any():
            raise DataValidationError(
                f"sample ids are not unique (e.g. '{uniq[counts > 1][0]}')", problem="ids"
            )
        return arr

    @staticmethod
    def _check_splits(splits: Any, n: int) -> dict[str, torch.Tensor]:
        if splits is None:
            return {"train": torch.arange(n)}
        if not isinstance(splits, Mapping):
            labels = _as_array(splits, "splits").astype(str)
            if labels.shape != (n,):
                raise DataValidationError(
                    f"per-sample split labels have shape {labels.shape}, expected ({n},)",
                    problem="splits",
                )
            splits = {s: np.flatnonzero(labels == s) for s in np.unique(labels)}
        out: dict[str, torch.Tensor] = {}
        seen = np.zeros(n, dtype=bool)
        for sname, idx in splits.items():
            if sname not in SPLITS:
                raise DataValidationError(
                    f"unknown split name '{sname}' (expected one of {', '.join(SPLITS)})",
                    problem="splits",
                )
            arr = _as_array(idx, f"split '{sname}'")
            if arr.dtype == bool:
                arr = np.flatnonzero(arr)
            if arr.dtype.kind not in "iu":
                raise DataValidationError(
                    f"split '{sname}' must hold integer indices, got dtype {arr.dtype}",
                    problem="splits",
                )
            arr = arr.astype(np.int64).reshape(-1)
            if len(arr) == 0:
                raise DataValidationError(f"split '{sname}' is empty", problem="splits")
            if arr.min() < 0 or arr.max() >= n:
                raise DataValidationError(
                    f"split '{sname}' has indices outside [0, {n})", problem="splits"
                )
            if seen[arr].any() or len(np.unique(arr)) != len(arr):
                raise DataValidationError(
                    f"split '{sname}' overlaps another split or repeats samples",
                    problem="splits",
                )
            seen[arr] = True
            out[sname] = torch.from_numpy(arr)
        if "train" not in out:
            raise DataValidationError("a 'train' split is required", problem="splits")
        return out

    # ---------------------------------------------------------------- properties
    @property
    def n(self) -> int:
        return int(self._y.shape[0])

    def __len__(self) -> int:
        return self.n

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._x)

    @property
    def target(self) -> torch.Tensor:
        return self._y

    @property
    def splits(self) -> dict[str, torch.Tensor]:
        return dict(self._splits)

    @property
    def split_names(self) -> tuple[str, ...]:
        """The non-empty splits this dataset has, in ``train, valid, test`` order."""
        return tuple(s for s in SPLITS if s in self._splits and len(self._splits[s]))

    def has_split(self, name: str) -> bool:
        """Whether the split ``name`` exists and holds at least one sample.

        Training code asks this before claiming a model was *selected on validation* or
        *evaluated on test*: a dataset built without splits has only ``train``.
        """
        return name in self._splits and len(self._splits[name]) > 0

    def split_sizes(self) -> dict[str, int]:
        """Samples per split (only the splits that exist)."""
        return {s: int(len(self._splits[s])) for s in self.split_names}

    def require_split(self, name: str, purpose: str | None = None) -> torch.Tensor:
        """The indices of split ``name``; a DataValidationError naming it (and what it is
        needed for) when it is missing or empty."""
        if not self.has_split(name):
            why = f" (needed {purpose})" if purpose else ""
            have = ", ".join(f"{k}={v}" for k, v in self.split_sizes().items()) or "none"
            raise DataValidationError(
                f"dataset '{self.name}' has no '{name}' split{why}; its splits: {have}",
                problem="missing_split",
            )
        return self._splits[name]

    def require_modalities(self, names: Sequence[str]) -> tuple[str, ...]:
        """``names`` as a tuple after checking each is a modality of this dataset, once.

        Raises:
            DataValidationError: an unknown name (named, with the available ones) or a repeat.
        """
        names = tuple(names)
        unknown = [m for m in names if m not in self._x]
        if unknown:
            raise DataValidationError(
                f"unknown modality {', '.join(repr(m) for m in unknown)} (available: "
                f"{', '.join(self._x)})",
                modality=unknown[0],
                problem="unknown",
            )
        repeated = sorted({m for m in names if names.count(m) > 1})
        if repeated:
            raise DataValidationError(
                f"modality named more than once in {list(names)}",
                modality=repeated[0],
                problem="repeated",
            )
        return names

    def modality(self, name: str) -> torch.Tensor:
        if name not in self._x:
            raise DataValidationError(
                f"unknown modality (available: {', '.join(self._x)})",
                modality=name,
                problem="unknown",
            )
        return self._x[name]

    def lengths(self, name: str) -> torch.Tensor | None:
        return self._lengths.get(name)

    @property
    def spec(self) -> TaskSpec:
        mods = tuple(
            ModalitySpec(k, int(v.shape[-1]), int(v.shape[1]) if v.ndim == 3 else None)
            for k, v in self._x.items()
        )
        return TaskSpec(self.task, self.n_classes, mods)  # type: ignore[arg-type]

    def describe(self) -> dict[str, Any]:
        """Metadata summary: modalities, dims, split sizes, task, class balance."""
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "n": self.n,
            "n_classes": self.n_classes if self.task == "classification" else None,
            "splits": {k: int(len(v)) for k, v in self._splits.items()},
            "modalities": {},
        }
        for k, v in self._x.items():
            entry: dict[str, Any] = {"dim": int(v.shape[-1])}
            if v.ndim == 3:
                entry["seq_len"] = int(v.shape[1])
                ln = self._lengths.get(k)
                entry["mean_length"] = float(ln.float().mean()) if ln is not None else None
            out["modalities"][k] = entry
        if self.task == "classification":
            out["class_counts"] = torch.bincount(self._y, minlength=self.n_classes).tolist()
        else:
            out["target_range"] = [float(self._y.min()), float(self._y.max())]
        out.update({k: v for k, v in self.info.items() if isinstance(v, (str, int, float))})
        return out

    # ---------------------------------------------------------------- derived datasets
    def _derive(self, **changes: Any) -> MultimodalDataset:
        kw: dict[str, Any] = dict(
            modalities=self._x,
            target=self._y,
            task=self.task,
            lengths=self._lengths,
            splits=self._splits,
            ids=self.ids,
            n_classes=self.n_classes,
            name=self.name,
            sample_meta=self.sample_meta,
            info=self.info,
        )
        kw.update(changes)
        return MultimodalDataset(**kw, _validated=True)

    def subset(self, indices: Any) -> MultimodalDataset:
        """A dataset of the given samples (splits restricted and re-indexed)."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        pos = torch.full((self.n,), -1, dtype=torch.long)
        pos[idx] = torch.arange(len(idx))
        splits = {}
        for k, v in self._splits.items():
            mapped = pos[v]
            mapped = mapped[mapped >= 0]
            if len(mapped):
                splits[k] = mapped
        idx_np = idx.numpy()
        return self._derive(
            modalities={k: v[idx] for k, v in self._x.items()},
            target=self._y[idx],
            lengths={k: v[idx] for k, v in self._lengths.items()},
            splits=splits,
            ids=self.ids[idx_np],
            sample_meta={k: v[idx_np] for k, v in self.sample_meta.items()},
        )

    def split(self, name: str) -> MultimodalDataset:
        """The samples of one split, as a dataset whose only split is the one named."""
        if name not in self._splits:
            raise DataValidationError(
                f"no split '{name}' (available: {', '.join(self._splits)})", problem="splits"
            )
        return self.subset(self._splits[name])

    def indices(self, split: str) -> torch.Tensor:
        if split not in self._splits:
            raise DataValidationError(
                f"no split '{split}' (available: {', '.join(self._splits)})", problem="splits"
            )
        return self._splits[split]

    def select(self, modalities: Sequence[str]) -> MultimodalDataset:
        """Keep only the named modalities (in the given order)."""
        modalities = self.require_modalities(modalities)
        return self._derive(
            modalities={m: self._x[m] for m in modalities},
            lengths={m: v for m, v in self._lengths.items() if m in modalities},
        )

    def with_splits(self, splits: Mapping[str, Any] | Sequence[str]) -> MultimodalDataset:
        """Same data with new splits (validated)."""
        return self._derive(splits=self._check_splits(splits, self.n))

    def random_splits(
        self,
        fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
        seed: int = 0,
        stratify: bool = True,
        within: str | None = None,
    ) -> MultimodalDataset:
        """Random train/valid/test split (stratified by class for classification).

        With ``within="train"``, only the current training split is divided into train and
        valid (the other splits are kept and ``fractions[2]`` is ignored): this is how a
        validation split is carved out of datasets that ship without one.
        """
        fractions = check_fractions(fractions)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
        if within is not None and not self.has_split(within):
            self.require_split(within, "to carve a validation split from")
        rng = np.random.default_rng(seed)
        pool = self._splits[within].numpy() if within else np.arange(self.n)
        groups = [pool]
        if stratify and self.task == "classification":
            ys = self._y.numpy()[pool]
            groups = [pool[ys == c] for c in np.unique(ys)]
        parts: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
        for g in groups:
            g = rng.permutation(g)
            n_valid = int(round(fractions[1] * len(g)))
            n_test = 0 if within else int(round(fractions[2] * len(g)))
            parts["valid"].append(g[:n_valid])
            parts["test"].append(g[n_valid : n_valid + n_test])
            parts["train"].append(g[n_valid + n_test :])
        splits = {k: np.sort(np.concatenate(v)) for k, v in parts.items()}
        splits = {k: v for k, v in splits.items() if len(v)}
        if within:
            keep = {k: v for k, v in self._splits.items() if k != within}
            keep = {k: v for k, v in keep.items() if k not in splits}
            splits.update({k: v.numpy() for k, v in keep.items()})
        return self.with_splits(splits)

    def standardize(self, fit_split: str = "train", eps: float = 1e-6) -> MultimodalDataset:
        """Z-score every modality with mean/std fitted on ``fit_split`` only.

        For sequences, statistics use valid (unpadded) positions, and padding stays zero. The
        fitted :class:`Standardizer` objects are kept in ``info['standardizers']``.
        """
        idx = self.indices(fit_split)
        scalers: dict[str, Standardizer] = {}
        for name, x in self._x.items():
            xs = x[idx].numpy().astype(np.float64)
            if x.ndim == 3:
                ln = self._lengths.get(name)
                if ln is not None:
                    steps = np.arange(x.shape[1])
                    mask = steps[None, :] < ln[idx].numpy()[:, None]
                    flat = xs[mask]
                else:
                    flat = xs.reshape(-1, x.shape[-1])
            else:
                flat = xs
            mean = flat.mean(axis=0)
            std = flat.std(axis=0)
            std = np.where(std < eps, 1.0, std)
            scalers[name] = Standardizer(mean.astype(np.float32), std.astype(np.float32))
        return self.apply_standardizers(scalers, fitted_on=fit_split)

    def apply_standardizers(
        self, scalers: Mapping[str, Standardizer], fitted_on: str | None = None
    ) -> MultimodalDataset:
        """Z-score every modality with given statistics (those :meth:`standardize` fitted, or a
        saved model's); padding stays zero. Every modality needs one (a typed error names the
        one without); the statistics go to ``info['standardizers']``."""
        new_x: dict[str, torch.Tensor] = {}
        for name, x in self._x.items():
            sc = scalers.get(name)
            if sc is None:
                raise DataValidationError("no standardisation statistics for it", modality=name,
                                          problem="standardizer")
            if tuple(np.shape(sc.mean)) != (x.shape[-1],):
                raise DataValidationError(
                    f"has {x.shape[-1]} features, the standardisation statistics {np.shape(sc.mean)[-1]}",
                    modality=name, problem="dim",
                )
            z = torch.from_numpy(sc.apply(x.numpy()))
            if x.ndim == 3 and name in self._lengths:
                z = select_valid(z, self._full_mask(name))
            new_x[name] = z
        info = dict(self.info)
        info["standardizers"] = dict(scalers)
        info["standardized_on"] = fitted_on
        return self._derive(modalities=new_x, info=info)

    def _full_mask(self, name: str) -> torch.Tensor:
        return lengths_mask(self._lengths[name], self._x[name].shape[1])

    def mask(self, name: str, index: Any = None) -> torch.Tensor | None:
        """``(n, T)`` bool mask of valid steps of a sequence modality with lengths, else None.

        Args:
            name: the modality.
            index: sample positions (default: every sample).
        """
        x = self.modality(name)
        ln = self._lengths.get(name)
        if x.ndim != 3 or ln is None:
            return None
        return lengths_mask(ln if index is None else ln[index], x.shape[1])

    def pooled(
        self, name: str, index: Any = None, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """One modality as ``(n, D)`` vectors: a sequence is averaged over its valid steps.

        This is the one place a sequence modality is pooled for the consumers that need
        vectors (MI estimates, the ITHP order and scaling statistics, pointwise measures). Valid
        steps are selected (:func:`infofusion.functional.pooling.masked_mean`), so nothing in the
        padding can reach the result; a sequence without lengths is averaged over every step.

        Args:
            name: the modality.
            index: sample positions (default: every sample).
            dtype: compute and return in this dtype (default: the stored ``float32``).

        Returns:
            ``(n, D)`` tensor; a vector modality is returned as stored (cast to ``dtype``).
        """
        x = self.modality(name)
        if index is not None:
            x = x[torch.as_tensor(index, dtype=torch.long)]
        if dtype is not None:
            x = x.to(dtype)
        if x.ndim != 3:
            return x
        index = None if index is None else torch.as_tensor(index, dtype=torch.long)
        return masked_mean(x, self.mask(name, index))

    # ---------------------------------------------------------------- batching
    def batch(self, index: torch.Tensor) -> Batch:
        """The samples at ``index`` as one :class:`Batch` (tensor indexing, no collate)."""
        return Batch(
            x={k: v[index] for k, v in self._x.items()},
            y=self._y[index],
            index=index,
            lengths={k: v[index] for k, v in self._lengths.items()},
        )

    def batches(
        self,
        split: str = "train",
        batch_size: int = 256,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
        indices: torch.Tensor | None = None,
    ) -> Iterator[Batch]:
        """Iterate over a split in minibatches cut by tensor indexing."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        idx = self.indices(split) if indices is None else indices
        if shuffle:
            idx = idx[torch.randperm(len(idx), generator=generator)]
        stop = len(idx) - (len(idx) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            yield self.batch(idx[start : start + batch_size])

    # ---------------------------------------------------------------- constructors
    @staticmethod
    def encode_labels(labels: Any) -> tuple[np.ndarray, list[Any]]:
        """Map arbitrary labels to ``0..C-1``; returns (codes, classes)."""
        classes, codes = np.unique(np.asarray(labels), return_inverse=True)
        return codes.astype(np.int64), classes.tolist()

    @classmethod
    def from_pandas(
        cls,
        frame: Any,
        modalities: Mapping[str, Sequence[str]],
        target: str,
        *,
        split: str | None = None,
        id_column: str | None = None,
        **kwargs: Any,
    ) -> MultimodalDataset:
        """Build from a DataFrame: each modality is a list of columns."""
        missing = [c for cols in modalities.values() for c in cols if c not in frame.columns]
        missing += [c for c in (target, split, id_column) if c and c not in frame.columns]
        if missing:
            raise DataValidationError(
                f"columns not in the frame: {', '.join(map(str, missing))}", problem="columns"
            )
        y = frame[target].to_numpy()
        if kwargs.get("task") == "classification" and y.dtype.kind not in "iub":
            y, classes = cls.encode_labels(y)
            kwargs.setdefault("info", {})["classes"] = classes
        return cls(
            {m: frame[list(cols)].to_numpy(dtype=np.float32) for m, cols in modalities.items()},
            y,
            splits=None if split is None else frame[split].astype(str).to_numpy(),
            ids=None if id_column is None else frame[id_column].to_numpy(),
            **kwargs,
        )

    def __repr__(self) -> str:
        mods = ", ".join(f"{k}{tuple(v.shape[1:])}" for k, v in self._x.items())
        sp = ", ".join(f"{k}={len(v)}" for k, v in self._splits.items())
        return f"MultimodalDataset({self.name!r}, {self.task}, n={self.n}, [{mods}], {sp})"
