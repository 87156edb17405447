"""The information-plane analysis as a training callback any method can switch on.

At scheduled epochs the callback runs the method (eval mode, no gradients, its own random state)
on a fixed subsample of the validation split, captures the outputs of the chosen submodules with
forward hooks, compresses them (PCA to ``k`` dimensions by default, refitted at every point) and
estimates I(T; X) and I(T; Y) in bits with the ``auto`` estimator and its 95 % interval (see
:mod:`infofusion.measures.information_plane`). X is the method's inputs, sequences mean-pooled
over valid steps, concatenated and compressed the same way (once: they do not change).

The values go into the epoch's history row (``info_plane/<layer>/I_TX`` ...), so checkpoints and
resumed runs keep them; :func:`points_from_history` turns them into one record per point, which
``api.train`` stores in the run record and :mod:`infofusion.report.information_plane` draws.

Example:
    >>> from infofusion.training import TrainConfig, fit
    >>> from infofusion.training.info_plane import InfoPlane
    >>> cb = InfoPlane("fusion.0", every=5)  # doctest: +SKIP
    >>> res = fit("joint", data, TrainConfig(epochs=20), callbacks=[cb])  # doctest: +SKIP
    >>> points_from_history(res.history)  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from infofusion.errors import ConfigError
from infofusion.measures.information_plane import Compression, compress, plane_point
from infofusion.training.callbacks import Callback

PREFIX = "info_plane/"
#: the layer name that stands for the method's own declared layers (``info_plane_layers``)
DEFAULT_LAYERS = "default"


@dataclass(frozen=True)
class InfoPlaneConfig:
    """What the analysis measures, and when.

    Attributes:
        layers: names of submodules (``dict(method.named_modules())`` keys, see
            :func:`layer_names`); ``"default"`` stands for the method's ``info_plane_layers()``
            (ITHP: its bottlenecks).
        every: measure at epochs ``0, every, 2 every, ...`` of each stage and at its last epoch.
        compress: ``pca:K`` (default ``pca:8``), ``ae:K`` or ``none`` (see
            :class:`~infofusion.measures.information_plane.Compression`).
        samples: size of the fixed validation subsample (memory and time are linear in it).
        estimator: MI estimator (registry name).
        estimator_params: its parameters; the default (None) is ``{"neural": False}`` for
            ``auto``, which leaves out its InfoNCE component (a critic trained per estimate:
            seconds per point instead of hundredths), and ``{}`` for any other estimator.
        seed: seed of the subsample and of the autoencoder.
    """

    layers: tuple[str, ...]
    every: int = 1
    compress: str = "pca:8"
    samples: int = 1000
    estimator: str = "auto"
    estimator_params: Mapping[str, Any] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        layers = (self.layers,) if isinstance(self.layers, str) else tuple(self.layers)
        layers = tuple(part.strip() for name in layers for part in str(name).split(",") if part.strip())
        if not layers:
            raise ConfigError("info_plane needs at least one layer name (or 'default')")
        object.__setattr__(self, "layers", tuple(dict.fromkeys(layers)))
        for name, value, low in (("every", self.every, 1), ("samples", self.samples, 20)):
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                raise ConfigError(f"info_plane option '{name}' must be an integer >= {low}, got {value!r}")
        Compression.parse(self.compress)  # ConfigError naming a bad spec
        from infofusion.measures.mi import create_estimator

        params = self.estimator_params
        if params is None:
            params = {"neural": False} if self.estimator == "auto" else {}
        object.__setattr__(self, "estimator_params", dict(params))
        est = create_estimator(self.estimator, **self.estimator_params)  # names bad params
        if est.unit != "nats" or est.quantity != "mutual_information":
            raise ConfigError(
                f"info_plane estimator '{self.estimator}' measures {est.quantity} in {est.unit}, "
                "not mutual information; use 'auto', 'ksg' or 'gaussian'"
            )

    @classmethod
    def of(cls, spec: Any, **options: Any) -> InfoPlaneConfig:
        """From a config, a dict of its fields, a layer list or ``"a,b"`` (plus ``options``)."""
        if isinstance(spec, InfoPlaneConfig):
            return cls(**{**spec.to_dict(), **options}) if options else spec
        if isinstance(spec, Mapping):
            return cls(**{**spec, **options})
        if isinstance(spec, (str, Sequence)):
            return cls(layers=spec, **options)  # type: ignore[arg-type]
        raise ConfigError(f"info_plane must be layer names or an InfoPlaneConfig, got {spec!r}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["layers"] = list(self.layers)
        out["estimator_params"] = dict(self.estimator_params)
        return out


def layer_names(method: nn.Module) -> list[str]:
    """Every submodule name of ``method`` a forward hook can be put on."""
    return [name for name, _ in method.named_modules() if name]


def resolve_layers(method: nn.Module, layers: Sequence[str]) -> list[str]:
    """Expand ``"default"`` and check every name exists.

    Raises:
        ConfigError: a name that is not a submodule (the message names close matches), or
            ``"default"`` for a method that declares no layers.
    """
    names = layer_names(method)
    out: list[str] = []
    for layer in layers:
        if layer == DEFAULT_LAYERS:
            declared = method.info_plane_layers() if hasattr(method, "info_plane_layers") else []
            if not declared:
                raise ConfigError(
                    f"method '{getattr(method, 'name', type(method).__name__)}' declares no default "
                    f"information-plane layers; name one of: {_preview(names)}"
                )
            out += [d for d in declared if d not in out]
        elif layer not in names:
            close = difflib.get_close_matches(layer, names, n=5, cutoff=0.5)
            hint = f"close matches: {', '.join(close)}" if close else f"available: {_preview(names)}"
            raise ConfigError(
                f"unknown layer '{layer}' for method '{getattr(method, 'name', type(method).__name__)}'"
                f" ({hint}; list them all with `infofusion train ... --info-plane list`)"
            )
        elif layer not in out:
            out.append(layer)
    return out


def _preview(names: Sequence[str], limit: int = 20) -> str:
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _as_rows(out: Any, layer: str, batch_size: int, args: tuple = ()) -> torch.Tensor:
    """A layer's output as ``(B, D)``.

    A 3-d output ``(B, T, D)`` is averaged over ``T``: over the valid steps when the layer's
    second argument is a ``(B, T)`` bool mask (the encoders' ``forward(x, mask)`` convention,
    ITHP's bottleneck taps), over all steps otherwise.
    """
    if isinstance(out, (tuple, list)):
        out = next((o for o in out if isinstance(o, torch.Tensor)), None)
    if not isinstance(out, torch.Tensor):
        raise ConfigError(
            f"layer '{layer}' returns {type(out).__name__}, not a tensor; choose a submodule "
            "whose output is a (B, D) or (B, T, D) tensor"
        )
    if out.ndim == 0 or out.shape[0] != batch_size:
        raise ConfigError(
            f"layer '{layer}' output has shape {tuple(out.shape)}, not one row per sample "
            f"(batch of {batch_size}); choose a submodule that keeps the batch dimension first"
        )
    out = out.detach().float()
    if out.ndim == 1:
        return out[:, None]
    if out.ndim == 3:  # (B, T, D) -> (B, D)
        mask = args[1] if len(args) > 1 else None
        if isinstance(mask, torch.Tensor) and mask.dtype == torch.bool and mask.shape == out.shape[:2]:
            from infofusion.encoders import masked_mean

            return masked_mean(out, mask)
        return out.mean(dim=1)
    return out.reshape(batch_size, -1)


@torch.no_grad()
def capture(
    method: nn.Module, data: Any, index: torch.Tensor, layers: Sequence[str], device: Any, batch_size: int = 512
) -> dict[str, np.ndarray]:
    """Outputs of ``layers`` on the samples ``index``: name -> ``(N, D)`` float32 array.

    The method runs in eval mode and gets its previous mode back; the forward hooks are removed
    whatever happens.

    Raises:
        ConfigError: a layer whose output is not a per-sample tensor, or that runs more than
            once (or never) in one forward pass.
    """
    modules = dict(method.named_modules())
    store: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    calls: dict[str, int] = {}
    current = {"b": 0}

    def hook_for(name: str) -> Any:
        def hook(_module: nn.Module, args: tuple, out: Any) -> None:
            calls[name] = calls.get(name, 0) + 1
            store[name].append(_as_rows(out, name, current["b"], args).cpu())

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in layers]
    was_training = method.training
    method.eval()
    try:
        for batch in data.batches(indices=index, batch_size=batch_size):
            current["b"] = len(batch)
            calls.clear()
            method(batch.to(device))
            for name in layers:
                if calls.get(name, 0) != 1:
                    raise ConfigError(
                        f"layer '{name}' ran {calls.get(name, 0)} times in one forward pass; "
                        "choose a submodule that runs exactly once per batch"
                    )
    finally:
        for h in handles:
            h.remove()
        method.train(was_training)
    return {name: torch.cat(parts).numpy() for name, parts in store.items()}


def pooled_inputs(data: Any, index: torch.Tensor, modalities: Sequence[str]) -> np.ndarray:
    """X of the plane: the modalities at ``index``, sequences mean-pooled over valid steps,
    concatenated: ``(N, sum of dims)``."""
    from infofusion.encoders import masked_mean

    batch = data.batch(index)
    parts = []
    for m in modalities:
        x = batch.x[m].float()
        if x.ndim == 3:
            x = masked_mean(x, batch.mask(m))
        parts.append(x.reshape(len(index), -1))
    return torch.cat(parts, dim=1).numpy()


class InfoPlane(Callback):
    """Record I(T; X) and I(T; Y) of chosen layers over training (see the module docstring).

    Args:
        layers: layer names or an :class:`InfoPlaneConfig` (or a dict of its fields).
        **options: other :class:`InfoPlaneConfig` fields (``every``, ``compress``, ``samples``,
            ``estimator``, ``estimator_params``, ``seed``).

    Attributes:
        layers: the resolved layer names (after ``on_fit_start``).
        split: the split the subsample is drawn from (``valid``; ``train`` only when the data has
            no validation split; never ``test``).
        index: the subsample (dataset positions).
    """

    def __init__(self, layers: Any, **options: Any) -> None:
        self.config = InfoPlaneConfig.of(layers, **options)
        self.layers: list[str] = list(self.config.layers)
        self.split = "valid"
        self.index: torch.Tensor | None = None
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def on_fit_start(self, trainer: Any) -> None:
        method, data = trainer.method, trainer.data
        self.layers = resolve_layers(method, self.config.layers)
        self.split = "valid" if "valid" in data.splits else "train"
        pool = data.indices(self.split).numpy()
        rng = np.random.default_rng(self.config.seed)
        take = min(self.config.samples, len(pool))
        self.index = torch.as_tensor(np.sort(rng.choice(pool, size=take, replace=False)))
        modalities = getattr(method, "modality_names", None) or data.names
        with _own_random_state(trainer.device):
            self._x = compress(pooled_inputs(data, self.index, modalities), self._compression())
            # a dry run on a few samples: a layer that cannot be captured fails before training
            capture(method, data, self.index[:4], self.layers, trainer.device)
        y = data.target[self.index].numpy()
        # classes enter one-hot: an integer code would impose an arbitrary order on them (KSG's
        # distances would depend on how the classes are numbered); one-hot is an invertible
        # coding of Y, so I(T; Y) is unchanged and relabelling the classes permutes columns only
        self._y = np.eye(data.n_classes)[y] if data.task == "classification" else y.astype(np.float64)

    def _compression(self) -> Compression:
        return Compression.parse(self.config.compress, seed=self.config.seed)

    def scheduled(self, epoch: int, trainer: Any) -> bool:
        """Whether ``epoch`` (within the current stage) is measured."""
        last = (trainer.stage.max_epochs or trainer.config.epochs) - 1
        return epoch % self.config.every == 0 or epoch == last

    def on_epoch_end(self, epoch: int, trainer: Any) -> dict[str, Any] | None:
        if self.index is None or not self.scheduled(epoch, trainer):
            return None
        row: dict[str, Any] = {}
        with _own_random_state(trainer.device):
            acts = capture(trainer.method, trainer.data, self.index, self.layers, trainer.device)
            for layer, t in acts.items():
                point = plane_point(
                    compress(t, self._compression()),
                    self._x,
                    self._y,
                    self.config.estimator,
                    **self.config.estimator_params,
                )
                row.update({f"{PREFIX}{layer}/{k}": v for k, v in point.items()})
        return row

    def summary(self) -> dict[str, Any]:
        """The settings recorded with the points (config, split, subsample size, layers)."""
        return {
            **self.config.to_dict(),
            "layers": list(self.layers),
            "split": self.split,
            "n": 0 if self.index is None else len(self.index),
            "unit": "bits",
        }


class _own_random_state:
    """Run a block under a forked torch/numpy/python random state (training is unaffected)."""

    def __init__(self, device: Any) -> None:
        dev = torch.device(device)
        devices = [dev.index or 0] if dev.type == "cuda" else []
        self._fork = torch.random.fork_rng(devices=devices)

    def __enter__(self) -> None:
        self._np, self._py = np.random.get_state(), random.getstate()
        self._fork.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._fork.__exit__(*exc)
        np.random.set_state(self._np)
        random.setstate(self._py)


def points_from_history(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One dict per (epoch, layer) measured: ``stage``, ``epoch``, ``layer``, ``I_TX``,
    ``I_TX_low``, ``I_TX_high``, ``I_TY``, ``I_TY_low``, ``I_TY_high``, ``dims_T`` (and
    ``error_TX``/``error_TY`` where the estimator refused), from :attr:`FitResult.history`."""
    points: list[dict[str, Any]] = []
    for row in history:
        by_layer: dict[str, dict[str, Any]] = {}
        for key, value in row.items():
            if key.startswith(PREFIX):
                layer, _, name = key[len(PREFIX) :].rpartition("/")
                by_layer.setdefault(layer, {})[name] = value
        for layer, fields in by_layer.items():
            points.append({"stage": row.get("stage"), "epoch": row.get("epoch"), "layer": layer, **fields})
    return points
