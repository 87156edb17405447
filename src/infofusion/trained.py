"""Trained models: saved to one file, loaded back, used to predict on new data.

``infofusion train`` saves each seed's final (selected) model with everything needed to rebuild
it without the training data: the method's registry name and the options that rebuild its
structure (:meth:`~infofusion.methods.base.FusionMethod.rebuild_options`), the task and
modality specs, the standardisation statistics fitted on the training split, the label mapping
(``info["classes"]``), the dataset spec and fingerprint it was trained on, the seed and metrics,
and the weights. The file is a plain dict of tensors and containers, read with
``torch.load(..., weights_only=True)``: loading a model never runs code from the file.

>>> model = infofusion.load("results/models/<run-id>/synthetic_synergy_joint_seed0.pt")  # doctest: +SKIP
>>> model.predict("synthetic:synergy", split="test")        # class labels  # doctest: +SKIP
>>> model.predict_proba({"m1": x1, "m2": x2})               # arrays, no target needed  # doctest: +SKIP

Predictions of a loaded model equal those of the model in memory bit for bit (same data,
split and evaluation batch size on CPU; a test pins it for every registered method).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infofusion.errors import (
    CheckpointError,
    CheckpointMismatchError,
    ConfigError,
    DataValidationError,
)

__all__ = ["MODEL_FORMAT", "TrainedModel", "load", "save_model"]

MODEL_FORMAT = "infofusion-model"
MODEL_FORMAT_VERSION = 1
SAMPLE_STATE_KEY = "_sample_states._extra_state"


def _registry_name(method: Any) -> str:
    from infofusion.registry import get, list_components

    for name in list_components("method"):
        if get("method", name) is type(method):
            return name
    raise ConfigError(
        f"only registered methods can be saved; {type(method).__name__} is not registered "
        "(@register('method', name))"
    )


def save_model(
    path: str | os.PathLike[str],
    result: Any,
    *,
    method: str | None = None,
    data: str | None = None,
    data_options: Mapping[str, Any] | None = None,
) -> Path:
    """Write the trained model of ``result`` (a :class:`~infofusion.training.FitResult`).

    Args:
        path: the file to write (parent folders are created; written atomically). An existing
            file is never replaced.
        result: the fit's result (its method holds the selected weights; ``result.data`` the
            standardised training data and its statistics).
        method: the method's registry name (default: looked up from its class).
        data: the dataset spec it was trained on (recorded, for ``predict --data``).
        data_options: the loader options of ``data`` (recorded).

    Returns:
        The path written.

    Raises:
        OutputPathError: ``path`` exists or cannot be written.
    """
    from infofusion.errors import OutputPathError
    from infofusion.training.checkpoint import dataset_fingerprint

    p = Path(path)
    if p.exists():
        raise OutputPathError(f"model file '{p}' exists; a run never overwrites an earlier run's model",
                              path=p, what="--model-dir")
    m = result.method
    dataset = result.data
    scalers = dataset.info.get("standardizers") if dataset is not None and result.config.standardize else None
    spec = m.spec
    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "infofusion": _version(),
        "method": method or _registry_name(m),
        "options": m.rebuild_options(),
        "spec": {
            "task": spec.task,
            "n_classes": int(spec.n_classes),
            "modalities": [[str(ms.name), int(ms.dim), None if ms.seq_len is None else int(ms.seq_len)]
                           for ms in spec.modalities],
        },
        "standardizers": None if scalers is None else {
            k: {"mean": torch.from_numpy(np.asarray(v.mean, np.float32)).clone(),
                "std": torch.from_numpy(np.asarray(v.std, np.float32)).clone()}
            for k, v in scalers.items() if k in spec.names
        },
        "classes": _plain_list(None if dataset is None else dataset.info.get("classes")),
        "eval_batch_size": int(result.config.eval_batch_size),
        "data": {
            "spec": data,
            "options": dict(data_options or {}),
            "fingerprint": None if dataset is None else dataset_fingerprint(dataset),
        },
        "seed": int(result.config.seed),
        "selected_on": getattr(result, "selected_on", None),
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "state_dict": {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v
                       for k, v in m.state_dict().items()},
    }
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, p)
    return p


def _plain_list(values: Any) -> list[Any] | None:
    """Labels as plain Python values (a weights-only file admits no numpy scalar)."""
    if values is None:
        return None
    return [v.item() if hasattr(v, "item") else v for v in values]


def _version() -> str:
    import sys

    return getattr(sys.modules.get("infofusion"), "__version__", "unknown")


def load(path: str | os.PathLike[str]) -> TrainedModel:
    """Load a model saved by ``infofusion train`` (or :func:`save_model`).

    Raises:
        CheckpointError: the file is missing, empty, truncated, not a model file, or holds
            objects other than tensors and containers (refused; nothing ran).
        UnknownComponentError: its method is not registered in this installation.
        CheckpointMismatchError: the weights do not fit the rebuilt method.
    """
    from infofusion.interfaces import ModalitySpec, TaskSpec
    from infofusion.registry import create
    from infofusion.training.checkpoint import read_torch_file

    p = Path(path)
    payload = read_torch_file(p, "model")
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        hint = " (a training checkpoint: continue it with --resume)" if isinstance(payload, dict) and "optimizer" in payload else ""
        raise CheckpointError(f"not an infofusion model file{hint}", path=p)
    if int(payload.get("format_version", 0)) > MODEL_FORMAT_VERSION:
        raise CheckpointError(
            f"written by a newer infofusion ({payload.get('infofusion')}, model format "
            f"{payload.get('format_version')}); this version reads format {MODEL_FORMAT_VERSION}", path=p)
    try:
        s = payload["spec"]
        spec = TaskSpec(s["task"], int(s["n_classes"]),
                        tuple(ModalitySpec(str(n), int(d), None if t is None else int(t)) for n, d, t in s["modalities"]))
        state = payload["state_dict"]
        name, options = str(payload["method"]), dict(payload["options"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"model file is incomplete or malformed ({type(exc).__name__}: {exc})", path=p) from None
    with torch.random.fork_rng(devices=[]):  # building draws initial weights: not the caller's stream
        method = create("method", name, spec=spec, **options)
    if SAMPLE_STATE_KEY in state:
        for key, value in state[SAMPLE_STATE_KEY].items():
            method.register_sample_state(key, value.clone())
    try:
        method.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointMismatchError(
            f"model file '{p}': its weights do not fit method '{name}' rebuilt from its options: "
            f"{str(exc).strip().splitlines()[0][:300]}", path=p) from None
    method.eval()
    return TrainedModel(method, payload, p)


class TrainedModel:
    """A loaded model: :meth:`predict`, :meth:`predict_proba`, :meth:`outputs`.

    Attributes:
        method: the :class:`~infofusion.methods.base.FusionMethod`, in eval mode, on CPU.
        spec: the task and modality specs it was trained for.
        classes: the original labels of classes ``0..C-1`` (None: the class indices are the labels).
        info: everything the file records besides the weights (method, options, data spec and
            fingerprint, seed, metrics, standardisation statistics).
        path: the file it was loaded from.
    """

    def __init__(self, method: Any, payload: dict[str, Any], path: Path | None = None) -> None:
        self.method = method
        self.spec = method.spec
        self.classes = payload.get("classes")
        self.info = {k: v for k, v in payload.items() if k != "state_dict"}
        self.path = path
        self.eval_batch_size = int(payload.get("eval_batch_size") or 2048)
        from infofusion.data.dataset import Standardizer

        raw = payload.get("standardizers")
        self.standardizers = None if raw is None else {
            k: Standardizer(v["mean"].numpy(), v["std"].numpy()) for k, v in raw.items()
        }

    def __repr__(self) -> str:
        mods = ", ".join(f"{m.name}({m.dim})" for m in self.spec.modalities)
        return f"TrainedModel({self.info.get('method')!r}, {self.spec.task}, [{mods}], path={str(self.path)!r})"

    # ------------------------------------------------------------------ inputs
    def _dataset(self, data: Any, lengths: Mapping[str, Any] | None, data_options: Mapping[str, Any] | None) -> tuple[Any, bool]:
        """(dataset with the model's modalities, standardised; whether it has a real target)."""
        from infofusion.data import load_dataset
        from infofusion.data.dataset import MultimodalDataset

        labelled = True
        if isinstance(data, str):
            data = load_dataset(data, **dict(data_options or {}))
        elif isinstance(data, Mapping):
            if not data:
                raise DataValidationError("no modality given (the model needs: "
                                          f"{', '.join(self.spec.names)})", problem="no_modality")
            first = next(iter(data.values()))
            n = len(first) if hasattr(first, "__len__") else 0
            data = MultimodalDataset(dict(data), np.zeros(n, np.float32), task="regression",
                                     lengths=lengths, name="input")
            labelled = False
        elif not isinstance(data, MultimodalDataset):
            raise ConfigError("data must be a MultimodalDataset, a dataset spec string or a dict "
                              f"modality -> array, got {type(data).__name__}")
        missing = [m for m in self.spec.names if m not in data.names]
        if missing:
            raise DataValidationError(
                f"the model needs modality {', '.join(repr(m) for m in missing)}; the data has "
                f"{', '.join(data.names)}", modality=missing[0], problem="unknown")
        for ms in self.spec.modalities:
            x = data.modality(ms.name)
            seq = x.shape[1] if x.ndim == 3 else None
            if x.shape[-1] != ms.dim or seq != ms.seq_len:
                want = f"({ms.seq_len}, {ms.dim})" if ms.seq_len else f"({ms.dim},)"
                raise DataValidationError(
                    f"has shape {tuple(x.shape[1:])} per sample; the model was trained on {want}",
                    modality=ms.name, problem="dim")
        data = data.select(list(self.spec.names))
        if self.standardizers is not None:
            data = data.apply_standardizers(self.standardizers, fitted_on="train")
        return data, labelled

    # ------------------------------------------------------------------ predictions
    @torch.no_grad()
    def outputs(
        self, data: Any, split: str = "all", *, lengths: Mapping[str, Any] | None = None,
        data_options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Raw outputs on ``data``.

        Args:
            data: a :class:`MultimodalDataset`, a dataset spec (``"generic:new.npz"``) or a dict
                modality -> array ``(N, D)`` / ``(N, T, D)`` (no target needed).
            split: ``"all"`` (every sample, in order) or ``train``/``valid``/``test``.
            lengths: valid lengths of sequence modalities given as arrays.
            data_options: loader options when ``data`` is a spec.

        Returns:
            ``prediction`` (``(N, C)`` logits or ``(N,)`` scores), ``ids``, ``index`` (positions
            in ``data``), ``y`` (the target, None for arrays) and ``unimodal`` (branch outputs).
        """
        from infofusion.training.config import TrainConfig

        if split not in ("all", "train", "valid", "test"):
            raise ConfigError(f"split must be all, train, valid or test, got {split!r}")
        ds, labelled = self._dataset(data, lengths, data_options)
        index = torch.arange(len(ds)) if split == "all" else ds.require_split(split, "to predict on")
        preds, uni = [], {}
        n_params = sum(p.numel() for p in self.method.parameters())
        before = torch.get_num_threads()
        torch.set_num_threads(TrainConfig().cpu_threads(n_params))  # the trainer's policy
        try:
            bs = self.eval_batch_size
            for start in range(0, len(index), bs):
                batch = ds.batch(index[start: start + bs])
                if not labelled or self.spec.task == "classification" and batch.y.dtype != torch.long:
                    batch.y = torch.zeros(len(batch), dtype=torch.long if self.spec.task == "classification" else torch.float32)
                out = self.method(batch)
                preds.append(out.prediction.float().cpu())
                for k, v in out.unimodal.items():
                    uni.setdefault(k, []).append(v.float().cpu())
        finally:
            torch.set_num_threads(before)
        idx = index.numpy()
        empty = (0, self.spec.out_dim) if self.spec.task == "classification" else (0,)
        return {
            "prediction": torch.cat(preds).numpy() if preds else np.zeros(empty, np.float32),
            "ids": np.asarray(ds.ids)[idx],
            "index": idx,
            "y": ds.target[index].numpy() if labelled else None,
            "unimodal": {k: torch.cat(v).numpy() for k, v in uni.items()},
        }

    def predict(self, data: Any, split: str = "all", **kw: Any) -> np.ndarray:
        """Class labels (the original ones where the training data was relabelled) or scores;
        arguments as :meth:`outputs`."""
        out = self.outputs(data, split, **kw)["prediction"]
        if self.spec.task != "classification":
            return out
        labels = out.argmax(axis=1)
        return labels if self.classes is None else np.asarray(self.classes)[labels]

    def predict_proba(self, data: Any, split: str = "all", **kw: Any) -> np.ndarray:
        """``(N, C)`` class probabilities (softmax of the logits); classification only."""
        if self.spec.task != "classification":
            raise ConfigError("predict_proba needs a classification model; this one predicts scores")
        logits = torch.from_numpy(self.outputs(data, split, **kw)["prediction"])
        return torch.softmax(logits, dim=1).numpy()
