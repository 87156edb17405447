"""What a checkpoint belongs to, and reading torch files with typed errors.

A checkpoint continues one run only. Each ``last.pt`` carries an *identity* -- the method
(name, class and every option), a fingerprint of the dataset it trains on, the seed, the
training options that shape the result and the infofusion version -- and
:func:`check_identity` refuses, naming every difference, to resume anything else: a
checkpoint of another method or width, or of another dataset with the same shapes, never
resumes silently.

The dataset fingerprint is cheap and content-based: task, classes, modality shapes, split
sizes, a hash of the split indices, and a BLAKE2 hash of the training split's targets and ids
and of up to :data:`FINGERPRINT_ROWS` evenly spaced training rows of every modality (with
their lengths). Two datasets with the same shapes but other values differ in the hash.

:func:`read_torch_file` loads with ``weights_only=True`` and turns every failure into a
:class:`~infofusion.errors.CheckpointError` naming the file: empty, truncated or corrupt,
or holding objects other than tensors and plain containers (refused; nothing ran).
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infofusion.errors import CheckpointError, CheckpointMismatchError

__all__ = ["FINGERPRINT_ROWS", "IDENTITY_FIELDS", "check_checkpoint_dir", "check_identity",
           "dataset_fingerprint", "existing_checkpoint_error", "read_torch_file", "restore_weights",
           "resume_state", "run_identity"]

#: Checkpoint layout version (bumped when the identity or the state changes meaning).
FORMAT = 1
#: Training rows hashed per modality by :func:`dataset_fingerprint`.
FINGERPRINT_ROWS = 4096
#: TrainConfig fields a resumed run must share with its checkpoint (the others -- device,
#: threads, progress, evaluation batch size, the folder itself -- do not change the result).
IDENTITY_FIELDS = ("epochs", "batch_size", "lr", "weight_decay", "patience", "metric", "protocol",
                   "standardize", "grad_clip")


def _version() -> str:
    return getattr(sys.modules.get("infofusion"), "__version__", "unknown")


def dataset_fingerprint(data: Any, max_rows: int = FINGERPRINT_ROWS) -> dict[str, Any]:
    """A cheap content fingerprint of ``data`` (a :class:`MultimodalDataset`).

    Returns:
        ``name`` (recorded, never compared), ``task``, ``n_classes``, ``modalities``
        (name -> shape without N), ``splits`` (name -> size) and ``hash`` (hex).
    """
    h = hashlib.blake2b(digest_size=16)
    splits = data.splits
    for name in sorted(splits):
        h.update(name.encode())
        h.update(np.ascontiguousarray(splits[name].numpy().astype(np.int64)).tobytes())
    train = data.indices("train") if "train" in splits else torch.arange(len(data))
    rows = train
    if len(train) > max_rows:
        rows = train[torch.linspace(0, len(train) - 1, max_rows).round().long()]
    h.update(np.ascontiguousarray(data.target[train].numpy()).tobytes())
    h.update("\x00".join(str(i) for i in np.asarray(data.ids)[rows.numpy()]).encode())
    for name in data.names:
        h.update(name.encode())
        h.update(np.ascontiguousarray(data.modality(name)[rows].numpy()).tobytes())
        lengths = data.lengths(name)
        if lengths is not None:
            h.update(np.ascontiguousarray(lengths[rows].numpy()).tobytes())
    return {
        "name": str(data.name),
        "task": data.task,
        "n_classes": int(data.n_classes),
        "modalities": {str(m): [int(d) for d in data.modality(m).shape[1:]] for m in data.names},
        "splits": {str(k): int(len(v)) for k, v in splits.items()},
        "hash": h.hexdigest(),
    }


def run_identity(method: Any, data: Any, config: Any) -> dict[str, Any]:
    """What a checkpoint of ``method`` trained on ``data`` with ``config`` belongs to."""
    cls = type(method)
    return {
        "format": FORMAT,
        "infofusion": _version(),
        "method": str(getattr(method, "name", cls.__name__)),
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "options": method.get_params() if hasattr(method, "get_params") else {},
        "data": dataset_fingerprint(data),
        "seed": int(config.seed),
        "train": {f: getattr(config, f) for f in IDENTITY_FIELDS},
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _differences(saved: Any, now: Any, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    if isinstance(saved, dict) and isinstance(now, dict):
        out: dict[str, tuple[Any, Any]] = {}
        for key in sorted(set(saved) | set(now), key=str):
            if prefix == "data." and key == "name":
                continue  # a renamed dataset with the same content is the same dataset
            out.update(_differences(saved.get(key, "<absent>"), now.get(key, "<absent>"), f"{prefix}{key}."))
        return out
    return {} if _same(saved, now) else {prefix.rstrip("."): (saved, now)}


def check_identity(saved: Any, now: dict[str, Any], path: Any) -> None:
    """Refuse to resume a checkpoint that belongs to another run.

    Raises:
        CheckpointMismatchError: names the file and each difference (saved vs now).
    """
    if not isinstance(saved, dict):
        raise CheckpointError(
            "not a checkpoint of this infofusion version (it records no identity: written by an "
            "older version or another program); start fresh in another --checkpoint-dir", path=path
        )
    diffs = _differences(saved, now)
    if not diffs:
        return
    shown = []
    for key, (a, b) in list(diffs.items())[:8]:
        hint = " (another dataset, or the same one changed)" if key == "data.hash" else ""
        shown.append(f"{key}: checkpoint {a!r}, this run {b!r}{hint}")
    more = f"; and {len(diffs) - 8} more" if len(diffs) > 8 else ""
    raise CheckpointMismatchError(
        f"checkpoint '{path}' belongs to another run and cannot be resumed by this one: "
        + "; ".join(shown) + more
        + " -- resume it with the run's own settings, or train in another --checkpoint-dir",
        path=path, differences=diffs,
    )


def read_torch_file(path: Any, what: str = "checkpoint") -> Any:
    """``torch.load(path, weights_only=True)`` on CPU, every failure a typed error.

    Raises:
        CheckpointError: missing, a directory, empty, truncated/corrupt, not a torch file, or
            holding objects other than tensors and plain containers (refused; nothing ran).
    """
    import pickle

    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"no such {what} file", path=p)
    if p.is_dir():
        raise CheckpointError(f"is a directory, expected a {what} file", path=p)
    if p.stat().st_size == 0:
        raise CheckpointError(f"the {what} file is empty (0 bytes): an interrupted copy?", path=p)
    import warnings

    try:
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol: ours is below
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        import re

        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:
            reason = (f"refused to load global '{found.group(1)}': the file holds objects other than "
                      f"tensors and plain containers, which no infofusion {what} does (nothing in "
                      "it was executed)")
        else:
            reason = f"not a torch {what} file, or corrupt"
        raise CheckpointError(reason, path=p) from None
    except OSError as exc:
        import errno

        if exc.errno in (errno.EACCES, errno.EPERM):
            raise CheckpointError(f"cannot read the {what} file: {exc.strerror}", path=p) from None
        raise CheckpointError(f"the {what} file is truncated or corrupt (not readable by torch.load)",
                              path=p) from None
    except Exception:  # noqa: BLE001 - truncated zip, bad records...: the file is at fault
        raise CheckpointError(f"the {what} file is truncated or corrupt (not readable by torch.load)",
                              path=p) from None


def existing_checkpoint_error(path: Path) -> Exception:
    """The error for a new run pointed at a folder holding an earlier run's checkpoint."""
    from infofusion.errors import OutputPathError

    return OutputPathError(
        f"--checkpoint-dir: '{path.parent}' already holds last.pt of an earlier run; pass --resume "
        "to continue it (same method, data, seed and options) or choose another folder",
        path=path, what="--checkpoint-dir",
    )


def check_checkpoint_dir(path: str | Path | None, resume: bool) -> None:
    """Before any work: refuse a ``checkpoint_dir`` that holds an earlier run's ``last.pt``
    when not resuming (a new run never overwrites it), and check the folder is writable."""
    if path is None:
        return
    from infofusion.io_paths import check_writable

    check_writable(path, "--checkpoint-dir", kind="dir")
    last = Path(path) / "last.pt"
    if not resume and last.exists():
        raise existing_checkpoint_error(last)


def resume_state(path: Path | None, resume: bool, identity: Any, *, warn: bool = True) -> dict[str, Any] | None:
    """The checkpoint state to resume from, checked to belong to this run; None to start fresh.

    Without ``resume`` an existing ``last.pt`` is an error (a new run never overwrites an
    earlier run's checkpoint); with ``resume`` and no checkpoint, an
    :class:`~infofusion.errors.InfoFusionWarning` says the run starts fresh.

    Args:
        path: the run's ``last.pt`` (None: no checkpointing).
        resume: whether to continue from it.
        identity: a callable returning this run's :func:`run_identity` (computed only when a
            checkpoint is there to compare).
        warn: emit the warning (only the main process does under DDP).

    Raises:
        CheckpointError: the file is empty, truncated, corrupt or not a checkpoint.
        CheckpointMismatchError: it belongs to another method, options, dataset, seed,
            training options or version (each difference named).
        OutputPathError: a checkpoint exists and ``resume`` is off.
    """
    if path is None:
        return None
    if not resume:
        if path.exists():
            raise existing_checkpoint_error(path)
        return None
    if not path.exists():
        import warnings

        from infofusion.errors import InfoFusionWarning

        if warn:
            warnings.warn(f"no checkpoint in {path.parent}: starting fresh", InfoFusionWarning, stacklevel=4)
        return None
    state = read_torch_file(path, "checkpoint")
    check_identity(state.get("identity") if isinstance(state, dict) else None, identity(), path)
    missing = sorted({"model", "stopper", "shared_generator", "stage_results", "optimizer"} - set(state))
    if missing:
        raise CheckpointError(f"checkpoint lacks {', '.join(missing)}; train again in another folder", path=path)
    return state


def restore_weights(method: Any, state: dict[str, Any], path: Any) -> None:
    """Load checkpointed weights; a mismatch the identity check did not catch (a method whose
    structure depends on something unrecorded) is still a typed error."""
    from infofusion.errors import ConfigError

    try:
        method.load_state_dict(state)
    except (RuntimeError, ConfigError) as exc:
        first = str(exc).strip().splitlines()[0][:300]
        raise CheckpointMismatchError(
            f"checkpoint '{path}' does not fit method '{getattr(method, 'name', type(method).__name__)}': {first}",
            path=path,
        ) from None
