"""Base class of fusion methods: the method contract in code.

A method is a :class:`FusionMethod` built as ``Cls(spec, **options)``; ``forward(batch)``
returns a :class:`MethodOutput` (prediction, named loss terms, per-sample diagnostics, unimodal
branch predictions). Everything a method needs from training is a typed hook of this class with
a no-op default (listed in :data:`HOOKS` and in the "Method hooks" section of
``docs/architecture.md``); the engine calls them directly and never tests which method it runs.

The recorded options of a method are read from its constructor signatures (scikit-learn's
``get_params``), never kept by hand; a subclass attribute that looks like a misspelt hook is a
:class:`~infofusion.errors.ConfigError` when the class is created.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from infofusion.encoders import ENCODERS, make_encoder
from infofusion.errors import ConfigError
from infofusion.interfaces import Batch, MethodOutput, StageSpec, TaskSpec
from infofusion.validation import Rule, check_option, resolve_hints

if TYPE_CHECKING:  # pragma: no cover
    from infofusion.training.trainer import Trainer

#: Hooks the engine (or the API) calls, with the positional arguments each receives.
HOOKS: dict[str, tuple[str, ...]] = {
    "stages": (),
    "parameter_groups": (),
    "on_fit_start": ("trainer",),
    "on_stage_start": ("stage", "trainer"),
    "on_epoch_start": ("epoch", "trainer"),
    "on_epoch_end": ("epoch", "trainer"),
    "after_backward": ("trainer", "batch", "out"),
    "loss_weights": (),
    "configure_optimizer": ("param_groups", "lr", "trainer"),
    "save_plots": ("stem", "result"),
    "run_info": (),
}
#: Class attributes the engine and the API read.
CLASS_ATTRIBUTES: tuple[str, ...] = (
    "bench_options", "ddp_find_unused_parameters", "option_aliases", "option_rules", "multimodal",
    "tasks", "family", "expresses_synergy",
)


def _check_subclass(cls: type) -> None:
    """Misspelt hooks, hooks with the wrong arguments, class attributes of the wrong type."""
    known = set(dir(FusionMethod))
    names = list(HOOKS) + list(CLASS_ATTRIBUTES)
    where = f"{cls.__module__}.{cls.__qualname__}"
    for attr in vars(cls):
        if attr.startswith("_") or attr in known:
            continue
        close = difflib.get_close_matches(attr, names, n=1, cutoff=0.8)
        if close or attr.startswith("on_"):
            hint = f"did you mean '{close[0]}'?" if close else f"hooks are: {', '.join(HOOKS)}"
            raise ConfigError(
                f"{where} defines '{attr}', which looks like a misspelt hook ({hint}); the engine "
                "would never call it -- rename it (see 'Method hooks' in docs/architecture.md)"
            )
    for hook, args in HOOKS.items():
        fn = vars(cls).get(hook)
        if fn is None or not inspect.isfunction(fn):
            continue
        try:
            inspect.signature(fn).bind(None, *args)
        except TypeError:
            raise ConfigError(
                f"{where}.{hook}{inspect.signature(fn)} does not accept the hook's arguments "
                f"({', '.join(('self', *args))})"
            ) from None
    rules = vars(cls).get("option_rules", {})
    if not isinstance(rules, Mapping) or not all(isinstance(r, Rule) for r in rules.values()):
        raise ConfigError(f"{where}.option_rules must map option names to infofusion.validation.Rule, got {rules!r}")
    if not isinstance(cls.bench_options, Mapping):
        raise ConfigError(f"{where}.bench_options must be a dict of method options, got {cls.bench_options!r}")
    if not cls.tasks or not set(cls.tasks) <= {"classification", "regression"}:
        raise ConfigError(f"{where}.tasks must name 'classification' and/or 'regression', got {cls.tasks!r}")
    if not isinstance(cls.family, str) or not cls.family.strip():
        raise ConfigError(f"{where}.family must be a non-empty string (the method's fusion family), got {cls.family!r}")
    if cls.expresses_synergy not in (None, True, False):
        raise ConfigError(f"{where}.expresses_synergy must be True, False or None, got {cls.expresses_synergy!r}")
    if cls.ddp_find_unused_parameters not in (None, True, False):
        raise ConfigError(
            f"{where}.ddp_find_unused_parameters must be True, False or None, got {cls.ddp_find_unused_parameters!r}"
        )


def _plain(value: Any) -> Any:
    """A JSON-ready copy of an option value (objects become their type name)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return type(value).__name__


def _signature_params(
    cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any], annotations: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The options of ``cls(*args, **kwargs)``: every explicit constructor parameter of ``cls``
    and of the bases its ``*args``/``**kwargs`` reach, bound value or default (``spec`` left
    out); the most derived declaration wins. ``annotations``, when given, receives each
    option's type annotation (from the same declaration).

    Raises:
        ConfigError: an option no constructor of the chain accepts (named, with close matches).
    """
    params: dict[str, Any] = {}
    accepted: set[str] = set()
    chain = [k for k in cls.__mro__ if "__init__" in vars(k) and issubclass(k, FusionMethod)]
    spec: dict[str, Any] = {}
    for klass in chain:
        sig = inspect.signature(vars(klass)["__init__"])
        try:
            bound = sig.bind(None, *args, **spec, **kwargs)
        except TypeError as exc:
            raise ConfigError(f"method '{cls.name}': {exc}") from None
        bound.apply_defaults()
        hints = resolve_hints(vars(klass)["__init__"]) if annotations is not None else {}
        if "spec" in bound.arguments:  # every level receives the task from the one below
            spec = {"spec": bound.arguments["spec"]}
        args, kwargs, forwards = (), {}, False
        for i, (pname, p) in enumerate(sig.parameters.items()):
            if i == 0:
                continue  # self
            if p.kind is p.VAR_POSITIONAL:
                args, forwards = tuple(bound.arguments.get(pname, ())), True
            elif p.kind is p.VAR_KEYWORD:
                kwargs, forwards = dict(bound.arguments.get(pname, {})), True
            elif pname != "spec":
                accepted.add(pname)
                params.setdefault(pname, bound.arguments[pname])
                if annotations is not None and pname in hints:
                    annotations.setdefault(pname, hints[pname])
        if not forwards or klass is FusionMethod:
            break
    if kwargs:
        unknown = sorted(kwargs)
        hints = {u: difflib.get_close_matches(u, sorted(accepted), n=1) for u in unknown}
        said = ", ".join(f"{u} (did you mean '{hints[u][0]}'?)" if hints[u] else u for u in unknown)
        raise ConfigError(f"method '{cls.name}' got unknown options: {said}")
    return params


def _check_given_options(cls: Any, given: dict[str, Any], annotations: dict[str, Any]) -> None:
    """Each option given to the constructor against its annotation and its rule in the
    ``option_rules`` tables of the class and its bases (most derived wins)."""
    rules: dict[str, Rule] = {}
    for klass in reversed(cls.__mro__):
        rules.update(vars(klass).get("option_rules", {}))
    for name, value in given.items():
        check_option(f"method '{cls.name}'", name, value, annotations.get(name), rules.get(name))


class _MethodMeta(type):
    """Reads a method's options from the constructor call: aliases are renamed, the options are
    bound to the signature chain (an unknown option fails here, by name, before ``__init__``),
    every option given is checked against its annotation and ``option_rules``
    (:func:`infofusion.validation.check_option`), and the options are kept for
    :meth:`FusionMethod.get_params`."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        aliases: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            aliases.update(vars(klass).get("option_aliases", {}))
        kwargs = {aliases.get(k, k): v for k, v in kwargs.items()}
        annotations: dict[str, Any] = {}
        options = _signature_params(cls, args, kwargs, annotations)
        _check_given_options(cls, {k: v for k, v in kwargs.items() if k in options}, annotations)
        self = super().__call__(*args, **kwargs)
        object.__setattr__(self, "_options", options)
        return self


class _SampleState(nn.Module):
    """Per-sample tensors of a method: saved with its weights (``get_extra_state``) and moved
    with it (``.to``), but not buffers, which DDP would broadcast from rank 0 at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.tensors: dict[str, torch.Tensor] = {}

    def get_extra_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.tensors.items()}

    def set_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        for name, value in state.items():
            have = self.tensors.get(name)
            if have is None:
                self.tensors[name] = value.clone()
            elif have.shape != value.shape:
                raise ConfigError(
                    f"per-sample state '{name}' has shape {tuple(value.shape)} in the saved state but "
                    f"{tuple(have.shape)} in the method (a different dataset?)"
                )
            else:
                have.copy_(value)

    def _apply(self, fn: Any, recurse: bool = True) -> _SampleState:
        self.tensors = {k: fn(v) for k, v in self.tensors.items()}
        return super()._apply(fn, recurse)


class FusionMethod(nn.Module, metaclass=_MethodMeta):
    """Common machinery: task loss, encoders per modality, recorded options, training hooks.

    Subclasses implement ``forward(batch) -> MethodOutput`` and override the hooks they need
    (each documented below and in ``docs/architecture.md``, "Method hooks").

    Args:
        spec: the task (type, classes, modalities).
        hidden: encoder width.
        embed_dim: per-modality representation size.
        encoder: ``auto`` | ``mlp`` | ``gru`` | ``transformer``.
        dropout: dropout rate in encoders and heads.
        modalities: restrict the method to these modalities (default: all in ``spec``).
        regression_loss: ``mse`` or ``cs_ib``, the Cauchy–Schwarz information bottleneck
            (:func:`infofusion.functional.cauchy_schwarz.cs_ib_loss`): the prediction term
            :math:`D_{CS}(p(y|x); q(\\hat y|x))` conditioned on the batch's inputs (sequences
            mean-pooled over valid steps) plus ``cs_ib_beta`` times the normalised CS-QMI of the
            inputs with the representation (the concatenated outputs of :meth:`encode`).
            Regression only; per-sample losses (``reduction="none"``) stay squared errors.
        cs_ib_beta: weight of the compression term of ``cs_ib``.
    """

    name: ClassVar[str] = "base"
    #: True when the method's prediction uses several modalities (False for unimodal).
    multimodal: ClassVar[bool] = True
    #: Options ``bench`` runs the method with (e.g. ITHP's automatic modality order).
    bench_options: ClassVar[Mapping[str, Any]] = {}
    #: The family the method belongs to in comparisons and recommendations (``joint``,
    #: ``late``, ``ensemble``, ``tensor``, ``unimodal``, ...): methods that fuse the same way.
    family: ClassVar[str] = "other"
    #: Whether the method's prediction can express synergy -- a label set only by the
    #: combination of modalities (XOR of one bit per modality). False for a sum or vote of
    #: per-modality outputs (sign(f1(x1) + f2(x2)) cannot fit XOR) and for unimodal models;
    #: None: not declared. ``infofusion recommend`` never recommends a False method for
    #: synergistic data.
    expresses_synergy: ClassVar[bool | None] = None
    #: DDP's ``find_unused_parameters`` (None: False). Set True when a training step can leave
    #: a *trainable* parameter without a gradient (a branch skipped, a loss term weighted 0);
    #: parameters a stage freezes do not count (the engine wraps after freezing).
    ddp_find_unused_parameters: ClassVar[bool | None] = None
    #: Alternative option names, alias -> parameter (e.g. ITHP's ``lambda`` -> ``lam``).
    option_aliases: ClassVar[Mapping[str, str]] = {}
    #: Range of options, name -> :class:`~infofusion.validation.Rule`; merged with the bases'
    #: tables. The type of every option comes from its annotation, so a method declares here
    #: only what the annotation cannot say (``{"alpha": Rule(min=0, max=1)}``).
    option_rules: ClassVar[Mapping[str, Rule]] = {
        "hidden": Rule(min=1),
        "embed_dim": Rule(min=1),
        "dropout": Rule(min=0, lt=1),
        "encoder": Rule(choices=("auto", *ENCODERS)),
        "modalities": Rule(nonempty=True),
    }
    #: Task types the method's definition covers; another one is a ConfigError at construction
    #: (a subclass states why in its own check), and ``bench`` leaves the method out there.
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_subclass(cls)

    def __init__(
        self,
        spec: TaskSpec,
        hidden: int = 128,
        embed_dim: int = 64,
        encoder: str = "auto",
        dropout: float = 0.1,
        modalities: list[str] | tuple[str, ...] | None = None,
        regression_loss: str = "mse",
        cs_ib_beta: float = 0.01,
        **unused: Any,
    ) -> None:
        super().__init__()
        if unused:
            raise ConfigError(f"method '{self.name}' got unknown options: {', '.join(sorted(unused))}")
        if spec.task not in self.tasks:
            raise ConfigError(
                f"method '{self.name}' is defined for {' and '.join(self.tasks)} only, got a {spec.task} task"
            )
        if regression_loss not in ("mse", "cs_ib"):
            raise ConfigError(f"option 'regression_loss' must be 'mse' or 'cs_ib', got {regression_loss!r}")
        if regression_loss == "cs_ib" and spec.task != "regression":
            raise ConfigError(f"regression_loss='cs_ib' needs a regression task, not {spec.task}")
        if not (isinstance(cs_ib_beta, (int, float)) and cs_ib_beta >= 0):
            raise ConfigError(f"option 'cs_ib_beta' must be a number >= 0, got {cs_ib_beta!r}")
        self.regression_loss = regression_loss
        self.cs_ib_beta = float(cs_ib_beta)
        self._ib_context: dict[str, Any] = {}
        if regression_loss == "cs_ib":  # the loss conditions on the inputs of the current batch
            self.register_forward_pre_hook(lambda mod, args: setattr(mod, "_ib_context", {"batch": args[0]}))
        self.spec = spec
        self.modality_names: tuple[str, ...] = tuple(modalities) if modalities is not None else spec.names
        unknown = [m for m in self.modality_names if m not in spec.names]
        if unknown:
            raise ConfigError(
                f"method '{self.name}' option 'modalities': unknown modality "
                f"{', '.join(repr(m) for m in unknown)} (available: {', '.join(spec.names)})"
            )
        if len(set(self.modality_names)) != len(self.modality_names):
            raise ConfigError(f"method '{self.name}' option 'modalities' names a modality twice: {list(self.modality_names)}")
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.encoder_kind = encoder
        self.dropout = dropout

    # ---------------------------------------------------------------- recorded options
    def get_params(self) -> dict[str, Any]:
        """The constructor options of this instance (JSON-ready), read from the signatures of
        its class and of the bases its ``**kwargs`` reach: ``type(m)(spec, **m.get_params())``
        builds the same model."""
        return {k: _plain(v) for k, v in getattr(self, "_options", {}).items()}

    @property
    def config(self) -> dict[str, Any]:
        """What is recorded with a run: :meth:`get_params` plus :meth:`run_info`."""
        return {**self.get_params(), **self.run_info()}

    # ---------------------------------------------------------------- hooks (no-op defaults)
    def stages(self) -> list[StageSpec]:
        """The training stages, run in order (default: one stage, ``StageSpec("main")``)."""
        return []

    def parameter_groups(self) -> dict[str, list[nn.Module | nn.Parameter]]:
        """Named parts of the model that ``StageSpec.train`` refers to (a group may list
        modules and parameters; groups may overlap)."""
        return {}

    def on_fit_start(self, trainer: Trainer) -> None:
        """Once per fit (also on resume), before the checkpoint is restored and before the first
        stage: data-dependent set-up (fit scalers on ``trainer.data``, register per-sample
        state, rebuild modules)."""

    def on_stage_start(self, stage: StageSpec, trainer: Trainer) -> None:
        """At each stage start, after the engine applied ``stage.train`` and before it wraps the
        method for DDP and builds the optimiser (changes to ``requires_grad`` here count)."""

    def on_epoch_start(self, epoch: int, trainer: Trainer) -> None:
        """Before each training epoch (``epoch`` counts from 0 within the stage)."""

    def on_epoch_end(self, epoch: int, trainer: Trainer) -> None:
        """After each training epoch, before validation and model selection (e.g. refresh
        per-sample state from ``trainer.predict("train")``)."""

    def after_backward(self, trainer: Trainer, batch: Batch, out: MethodOutput) -> None:
        """After ``loss.backward()`` (gradients already averaged across processes) and before
        gradient clipping and the optimiser step: gradient modulation. ``batch`` is this
        process's share of the global batch; reduce statistics with ``trainer.all_reduce``
        and draw noise from ``trainer.shared_generator`` so every process applies the same
        change."""

    def loss_weights(self) -> dict[str, float]:
        """Weight of each named loss term (missing terms weigh 1; 0 skips a term). Called at
        every step, so it may depend on the current stage or epoch."""
        return {}

    def configure_optimizer(
        self, param_groups: list[dict[str, Any]], lr: float, trainer: Trainer
    ) -> torch.optim.Optimizer | None:
        """The optimiser of the current stage, or None for the engine's AdamW.

        Args:
            param_groups: the engine's groups of this stage's trainable parameters
                (``{"params": [...], "weight_decay": ...}``, biases and norms without decay).
            lr: ``config.lr * stage.lr_factor``.
            trainer: the engine (``trainer.stage``, ``trainer.config``).
        """
        return None

    def save_plots(self, stem: str, result: Any) -> list[str]:
        """Draw the method's own plots of its run to files starting with ``stem``; returns the
        paths (``infofusion train --plots``).

        Args:
            stem: path prefix of the files to write.
            result: the run's :class:`~infofusion.training.FitResult`: ``history`` (one row per
                epoch), ``data`` (the dataset, with per-sample ground truth in ``sample_meta``
                where it has one) and ``test_outputs`` (:meth:`Trainer.predict` on the test
                split: prediction, branch outputs, diagnostics, index).
        """
        return []

    def run_info(self) -> dict[str, Any]:
        """Facts the trained model settled from data (e.g. a chosen modality order), recorded
        in each run's ``extra`` beside the metrics (JSON-ready values)."""
        return {}

    def rebuild_options(self) -> dict[str, Any]:
        """Options that rebuild this *trained* model without its data, for a saved model
        (:func:`infofusion.trained.save_model`): ``type(m)(spec, **m.rebuild_options())`` has
        the structure the weights fit. Default :meth:`get_params`; a method that settles part
        of its structure from data (ITHP's ``order="auto"``) returns what it settled."""
        return self.get_params()

    # ---------------------------------------------------------------- evaluation
    def modality_features(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Per-modality encoder outputs, modality -> ``(B, D)``: what the per-modality linear
        probe (:mod:`infofusion.evaluation.probe`) reads to tell how well each encoder learnt
        its modality. Not a training hook; the probe calls it in eval mode without gradients.

        The default returns ``self.encode(self.encoders, batch)`` when the method keeps one
        encoder per modality in an ``nn.ModuleDict`` named ``encoders`` (joint, late, ensemble,
        unimodal, tfn, the balancing methods) and ``{}`` otherwise (no per-modality encoder);
        a method whose per-modality representation lives elsewhere overrides it."""
        encoders = self._modules.get("encoders")
        if isinstance(encoders, nn.ModuleDict) and all(m in encoders for m in self.modality_names):
            return self.encode(encoders, batch)
        return {}

    # ---------------------------------------------------------------- per-sample state
    def register_sample_state(self, name: str, tensor: torch.Tensor) -> torch.Tensor:
        """Keep a per-sample tensor ``(N, ...)`` indexed by ``batch.index`` (dataset positions).

        It is saved in checkpoints, part of the weights kept by model selection, restored on
        resume and moved by ``.to()``; it is *not* a buffer (DDP would broadcast buffers from
        rank 0 at every step), so every process must update it identically -- e.g. from
        ``trainer.predict(split)``, which every process runs on the whole split. Register it
        in :meth:`on_fit_start` (the size is ``len(trainer.data)``); registering a name again
        replaces it.

        Returns:
            The stored tensor (update it in place).
        """
        if not name.isidentifier():
            raise ConfigError(f"per-sample state name {name!r} must be an identifier")
        if "_sample_states" not in self._modules:
            self.add_module("_sample_states", _SampleState())
        store: _SampleState = self._modules["_sample_states"]  # type: ignore[assignment]
        store.tensors[name] = tensor
        return tensor

    def sample_state(self, name: str) -> torch.Tensor:
        """The per-sample tensor registered as ``name``."""
        store = self._modules.get("_sample_states")
        if store is None or name not in store.tensors:  # type: ignore[operator]
            have = sorted(store.tensors) if store is not None else []  # type: ignore[union-attr]
            raise ConfigError(f"method '{self.name}' has no per-sample state '{name}' (registered: {have})")
        return store.tensors[name]  # type: ignore[index,union-attr]

    # ---------------------------------------------------------------- helpers
    @property
    def out_dim(self) -> int:
        return self.spec.out_dim

    def make_encoders(self) -> nn.ModuleDict:
        return nn.ModuleDict(
            {
                m: make_encoder(self.spec.modality(m), self.embed_dim, self.encoder_kind, self.hidden, self.dropout)
                for m in self.modality_names
            }
        )

    def make_head(self, in_dim: int) -> nn.Module:
        return nn.Sequential(nn.Linear(in_dim, self.hidden), nn.ReLU(), nn.Dropout(self.dropout), nn.Linear(self.hidden, self.out_dim))

    def encode(self, encoders: nn.ModuleDict, batch: Batch) -> dict[str, torch.Tensor]:
        """name -> ``(B, embed_dim)`` for every modality of the method."""
        out = {m: encoders[m](batch.x[m], batch.mask(m)) for m in self.modality_names}
        if self.regression_loss == "cs_ib":
            self._ib_context["representation"] = torch.cat([out[m] for m in out], dim=-1)
        return out

    def shape_prediction(self, out: torch.Tensor) -> torch.Tensor:
        """``(B, 1)`` -> ``(B,)`` for regression; logits unchanged."""
        return out.squeeze(-1) if self.spec.task == "regression" else out

    def task_loss(self, prediction: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Cross-entropy (classification), MSE or the CS-IB objective (regression)."""
        if self.spec.task == "classification":
            return F.cross_entropy(prediction, y, reduction=reduction)
        if self.regression_loss == "cs_ib" and reduction == "mean":
            return self._cs_ib_loss(prediction, y.to(prediction.dtype))
        return F.mse_loss(prediction, y.to(prediction.dtype), reduction=reduction)

    def _cs_ib_loss(self, prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        from infofusion.encoders import masked_mean
        from infofusion.functional.cauchy_schwarz import cs_ib_loss

        batch = self._ib_context.get("batch")
        rep = self._ib_context.get("representation")
        if batch is None:
            raise RuntimeError("cs_ib: task_loss called outside forward()")  # pragma: no cover
        if rep is None and self.cs_ib_beta > 0:
            from infofusion.errors import ConfigError

            raise ConfigError(
                f"method '{self.name}' does not compute its representation with FusionMethod.encode, "
                "which the compression term of regression_loss='cs_ib' needs; use cs_ib_beta=0"
            )
        parts = [
            masked_mean(batch.x[m], batch.mask(m)) if batch.x[m].ndim == 3 else batch.x[m]
            for m in self.modality_names
        ]
        x = torch.cat([p.reshape(p.shape[0], -1) for p in parts], dim=-1).to(prediction.dtype)
        t = x if rep is None else rep
        loss, _ = cs_ib_loss(x, t, y, prediction, beta=self.cs_ib_beta)
        return loss

    def info_plane_layers(self) -> list[str]:
        """Submodule names the information-plane analysis measures for ``--info-plane default``
        (see :mod:`infofusion.training.info_plane`); none unless a method declares them."""
        return []

    def forward(self, batch: Batch) -> MethodOutput:  # pragma: no cover - abstract
        raise NotImplementedError
