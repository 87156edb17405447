"""ITHP: information-theoretic hierarchical perception.

One modality is *prime*; the others are ordered *detectors*. A chain of stochastic latents
``B_0 -> B_1 -> ... -> B_{K-1}`` is built per token of the prime: ``B_0`` compresses the (encoded)
prime, ``B_k`` compresses ``B_{k-1}``, and each ``B_k`` must reconstruct detector ``k``. Each link
is a variational information bottleneck::

    IB_k = KL(q(B_k | B_{k-1}) || N(0, I)) + r_k * MSE(dec_k(B_k), detector_k scaled)
    IB   = sum_k w_k * IB_k
    loss = task + c * IB,  c = K / sum_k r_k

With two detectors and the defaults (``r = (beta, gamma) = (8, 32)``, ``w = (1, lambda)``,
``lambda = 0.3``) this is exactly the reference's ``task + 2 / (beta + gamma) * IB``.

Readout (reference): ``s = Dropout(LayerNorm(shift * Linear(B_{K-1}) + h_prime))`` per token,
pooled, then ``Linear - tanh - Dropout - Linear``. The prediction therefore depends on the prime
modality only; detectors act as training targets. ``readout="fused"`` also feeds encoded
detectors to the head.

``preset="reference"`` is the authors' configuration (text prime, acoustic then visual
detectors, identity prime path on given token features, first-token readout, dropout after the
decoders' sigmoid). The defaults are the reference's except where ``docs/methods/ithp.md``
("Differences from the reference") names the departure and its reason: padding never enters a
loss, a pooled output or a scaling statistic; detector scaling statistics are fitted on the
training split; evaluation uses latent means; a per-token MLP stands in for the fine-tuned text
backbone, so the readout pools by masked mean; no dropout after the decoders' sigmoid.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from infofusion.encoders import make_encoder
from infofusion.errors import ConfigError
from infofusion.functional.pooling import masked_mean, select_valid
from infofusion.interfaces import Batch, MethodOutput, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register
from infofusion.validation import Rule

PRIME_ENCODERS = ("identity", "linear", "mlp", "transformer")
READOUTS = ("prime", "fused")
SCALINGS = ("minmax", "minmax_global", "standard", "none")
POOLS = ("mean", "first")
INITS = ("reference", "torch")
PRESETS = ("reference",)
#: names the reference's modalities go by: text (prime), then acoustic, then visual
REFERENCE_MODALITIES = (("text",), ("audio", "acoustic"), ("vision", "visual", "video"))
#: the options ``preset="reference"`` sets (every other default already is the reference's)
REFERENCE_PRESET: dict[str, Any] = {
    "prime_encoder": "identity",
    "pool": "first",
    "decoder_dropout": True,
}
#: options whose default departs from the reference; docs/methods/ithp.md gives each reason
DEFAULTS: dict[str, Any] = {"prime_encoder": "mlp", "pool": "mean", "decoder_dropout": False}
#: standard deviation of the reference's weight initialisation (DeBERTa's initializer_range)
INIT_STD = 0.02


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise ``KL(N(mu, exp(logvar)) || N(0, 1))`` in nats, same shape as ``mu``."""
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())


def reference_init(module: nn.Module) -> None:
    """The reference's initialisation (Hugging Face ``_init_weights`` with range 0.02):
    ``Linear`` weights ``N(0, 0.02)`` and zero biases; ``LayerNorm`` weight 1, bias 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def reference_order(names: Sequence[str]) -> list[str]:
    """``[text, acoustic, visual]`` among ``names`` (the reference's order).

    Raises:
        ConfigError: a role has no modality of a known name; the message says how to fix it.
    """
    order = []
    for role, candidates in zip(("text", "acoustic", "visual"), REFERENCE_MODALITIES, strict=True):
        hit = next((c for c in candidates if c in names), None)
        if hit is None:
            raise ConfigError(
                f"ITHP preset='reference' orders text > acoustic > visual, but no modality is "
                f"named {' or '.join(repr(c) for c in candidates)} for the {role} role "
                f"(modalities: {', '.join(names)}); give order=[prime, detector_1, detector_2]"
            )
        order.append(hit)
    return order


def _parse_order(order: Any) -> list[str] | str | None:
    """``None``, ``"auto"``, a list of names, or a string ``"a,b,c"`` / ``"a>b>c"``."""
    if order is None or isinstance(order, list | tuple):
        return None if order is None else [str(m) for m in order]
    if isinstance(order, str):
        if order == "auto":
            return "auto"
        sep = ">" if ">" in order else ","
        return [m.strip() for m in order.split(sep) if m.strip()]
    raise ConfigError(f"ITHP option order={order!r} must be 'auto' or a list of modality names")


class _TargetScaler(nn.Module):
    """Affine scaling of one detector target, fitted once on training data (buffers)."""

    def __init__(self, dim: int, mode: str):
        super().__init__()
        self.mode = mode
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(self, flat: torch.Tensor) -> None:
        """Fit on ``(N, D)`` valid rows of the target."""
        flat = flat.to(self.shift.device, torch.float64)
        if flat.shape[0] == 0:
            return  # nothing to fit on: keep the identity
        if self.mode in ("minmax", "minmax_global"):
            lo, hi = flat.min(dim=0).values, flat.max(dim=0).values
            if self.mode == "minmax_global":
                lo, hi = lo.min().expand_as(lo), hi.max().expand_as(hi)
            span = hi - lo
            shift, scale = lo, torch.where(span > 1e-12, span, torch.ones_like(span))
        elif self.mode == "standard":
            std = (
                flat.std(dim=0, unbiased=False) if flat.shape[0] > 1 else torch.ones(flat.shape[1])
            )
            shift, scale = flat.mean(dim=0), torch.where(std > 1e-12, std, torch.ones_like(std))
        else:
            shift, scale = torch.zeros_like(self.shift), torch.ones_like(self.scale)
        self.shift.copy_(shift.to(self.shift.dtype))
        self.scale.copy_(scale.to(self.scale.dtype))
        self.fitted.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


class _PrimeEncoder(nn.Module):
    """Per-token encoder of the prime ``(B, T, D0) -> (B, T, d_model)`` (stands in for the
    reference's fine-tuned text backbone)."""

    def __init__(self, kind: str, in_dim: int, d_model: int, seq_len: int, dropout: float):
        super().__init__()
        self.kind = kind
        if kind == "identity":
            self.net: nn.Module = nn.Identity()
        elif kind == "linear":
            self.net = nn.Linear(in_dim, d_model)
        elif kind == "mlp":
            self.net = nn.Sequential(
                nn.Linear(in_dim, d_model),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(d_model, d_model),
            )
        else:  # transformer: contextual tokens, as the reference's backbone provides
            self.net = nn.Linear(in_dim, d_model)
            self.pos = nn.Parameter(torch.zeros(seq_len, d_model))
            heads = 4 if d_model % 4 == 0 else 1
            layer = nn.TransformerEncoderLayer(
                d_model, heads, 2 * d_model, dropout, batch_first=True
            )
            self.context = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        h = self.net(x)
        if self.kind == "transformer":
            pad = ~valid
            pad[:, 0] = False  # an all-padding row would make attention NaN
            h = self.context(h + self.pos[: h.shape[1]], src_key_padding_mask=pad)
        return h


class _Tap(nn.Module):
    """Identity with a name: ``(B, T, D), (B, T) mask -> (B, T, D)``. Forward hooks on it see the
    tensor and its mask (the information-plane analysis pools over valid steps only)."""

    def forward(self, z: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        return z


def _mlp(
    in_dim: int,
    inter: int,
    out_dim: int,
    drop: float,
    sigmoid: bool = False,
    out_dropout: bool = False,
) -> nn.Sequential:
    """``Linear-ReLU-Dropout-Linear`` [``-Sigmoid``] [``-Dropout``]: a link encoder or decoder."""
    mods: list[nn.Module] = [
        nn.Linear(in_dim, inter),
        nn.ReLU(),
        nn.Dropout(drop),
        nn.Linear(inter, out_dim),
    ]
    if sigmoid:
        mods.append(nn.Sigmoid())
    if out_dropout:
        mods.append(nn.Dropout(drop))
    return nn.Sequential(*mods)


@register("method", "ithp")
class ITHP(FusionMethod):
    """Information-theoretic hierarchical perception: prime + chain of detector bottlenecks.

    Args:
        spec: the task.
        preset: ``"reference"``: the authors' configuration -- text prime, acoustic then
            visual detectors (``order`` from the modality names), ``prime_encoder="identity"``
            (the given token features play the fine-tuned backbone's output),
            ``pool="first"``, ``decoder_dropout=True``. Options given explicitly win.
        order: ``None`` (dataset order: first modality is the prime), ``"auto"`` (chosen from
            estimated mutual information on the training split at fit start), or a list of
            modality names ``[prime, detector_1, ...]`` (also ``"a,b,c"``).
        prime: fix the prime modality (with ``order=None`` or ``"auto"``).
        beta: reconstruction weight of the first link (reference 8).
        gamma: reconstruction weight of the later links (reference 32).
        lam: weight of link ``k`` is ``lam ** k`` (reference 0.3); also accepted as ``lambda``.
        recon_weights: explicit per-link reconstruction weights (overrides beta/gamma).
        link_weights: explicit per-link IB weights (overrides lam).
        ib_scale: factor on the IB sum (default ``K / sum(recon_weights)``, i.e. the
            reference's ``2 / (beta + gamma)`` for two links).
        kl_weight: factor on every KL (compression) term; ``0`` removes the bottleneck
            (an ablation: the chain becomes plain predictive autoencoding of the detectors).
        latent_dims: latent size per link (default 128, 64, 32, ... down to 16).
        inter_dim: hidden width of link encoders and decoders (reference 256).
        drop_prob: dropout inside links (reference 0.3).
        decoder_dropout: dropout (``drop_prob``) after each decoder's output as in the
            reference (default False: it biases the reconstruction, see the docs).
        readout_dropout: dropout after the readout LayerNorm (reference 0.5).
        d_model: width of the prime path (default ``hidden``; the prime dim for ``identity``).
        prime_encoder: ``mlp`` (default) | ``linear`` | ``identity`` (reference preset) |
            ``transformer`` per-token encoder.
        readout: ``prime`` (reference: prediction from the prime path only) or ``fused``.
        pool: ``mean`` (default: masked mean over valid tokens) or ``first`` (reference: first
            token, the backbone's contextual summary token).
        init: ``reference`` (``N(0, 0.02)`` weights, zero biases, as the reference) or
            ``torch`` (PyTorch's defaults); applies to the reference's layers (links,
            readout), not to the prime path (a stand-in for a pretrained backbone) nor to the
            fused readout's detector encoders.
        shift: factor on the projected last latent before it joins the prime path.
        sample_eval: sample latents in evaluation too (reference); default uses the means.
        scale: detector target scaling: ``minmax_global`` (one min/max per detector, as the
            reference), ``minmax`` (per feature), ``standard`` or ``none``; fitted on the
            valid positions of the training split.
        estimator: MI estimator for ``order="auto"`` (registry name or object).
        order_criterion: ``target`` or ``prime`` (see :func:`ithp_order.choose_order`).
        order_max_samples: samples used for the MI estimates.
        order_max_dim: principal components kept per modality for the MI estimates.
        track_info_plane: record (KL, reconstruction) per link at every epoch end.
        hidden, embed_dim, encoder, dropout, modalities: as :class:`FusionMethod`;
            ``dropout`` is the head dropout (reference 0.1), ``encoder``/``embed_dim`` serve the
            detector encoders of the fused readout.
    """

    name: ClassVar[str] = "ithp"
    family: ClassVar[str] = "bottleneck"
    #: the default readout predicts from the prime path only (the chain's latents are
    #: compressions of the prime): no cross-modal interaction reaches the prediction
    expresses_synergy: ClassVar[bool | None] = False
    #: benchmarked with the automatic modality order (the reference fixes it by hand)
    option_rules: ClassVar[dict[str, Rule]] = {
        **{k: Rule(min=0) for k in ("beta", "gamma", "lam", "kl_weight", "recon_weights", "link_weights")},
        **{k: Rule(min=0, lt=1) for k in ("drop_prob", "readout_dropout")},
        **{k: Rule(min=1) for k in ("inter_dim", "d_model", "latent_dims", "order_max_dim")},
        "ib_scale": Rule(gt=0),
        "order_max_samples": Rule(min=2),
    }
    bench_options: ClassVar[dict[str, Any]] = {"order": "auto"}
    #: ``lambda`` is a Python keyword, so the option is ``lam``; ``lambda=...`` is accepted too
    option_aliases: ClassVar[dict[str, str]] = {"lambda": "lam"}

    def __init__(
        self,
        spec: TaskSpec,
        preset: str | None = None,
        order: Any = None,
        prime: str | None = None,
        beta: float = 8.0,
        gamma: float = 32.0,
        lam: float = 0.3,
        recon_weights: Sequence[float] | None = None,
        link_weights: Sequence[float] | None = None,
        ib_scale: float | None = None,
        kl_weight: float = 1.0,
        latent_dims: Sequence[int] | int | None = None,
        inter_dim: int = 256,
        drop_prob: float = 0.3,
        decoder_dropout: bool | None = None,
        readout_dropout: float = 0.5,
        d_model: int | None = None,
        prime_encoder: str | None = None,
        readout: str = "prime",
        pool: str | None = None,
        init: str = "reference",
        shift: float = 1.0,
        sample_eval: bool = False,
        scale: str = "minmax_global",
        estimator: Any = "ksg",
        order_criterion: str = "target",
        order_max_samples: int = 2000,
        order_max_dim: int = 8,
        track_info_plane: bool = True,
        hidden: int = 128,
        embed_dim: int = 64,
        encoder: str = "auto",
        dropout: float = 0.1,
        modalities: Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(spec, hidden, embed_dim, encoder, dropout, modalities, **options)
        if preset is not None and preset not in PRESETS:
            raise ConfigError(
                f"ITHP option preset='{preset}' is unknown (choose from {', '.join(PRESETS)})"
            )
        # options left unset take the preset's value, else the package default
        chosen_opts = REFERENCE_PRESET if preset == "reference" else DEFAULTS
        prime_encoder = chosen_opts["prime_encoder"] if prime_encoder is None else prime_encoder
        pool = chosen_opts["pool"] if pool is None else pool
        decoder_dropout = (
            chosen_opts["decoder_dropout"] if decoder_dropout is None else decoder_dropout
        )
        for opt, value, allowed in (
            ("prime_encoder", prime_encoder, PRIME_ENCODERS),
            ("readout", readout, READOUTS),
            ("scale", scale, SCALINGS),
            ("pool", pool, POOLS),
            ("init", init, INITS),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"ITHP option {opt}='{value}' is unknown (choose from {', '.join(allowed)})"
                )
        if len(self.modality_names) < 2:
            raise ConfigError(
                f"ITHP needs a prime and at least one detector, got modalities {list(self.modality_names)}"
            )
        self.beta, self.gamma, self.lam = float(beta), float(gamma), float(lam)
        self._recon_weights_opt = (
            None if recon_weights is None else [float(w) for w in recon_weights]
        )
        self._link_weights_opt = None if link_weights is None else [float(w) for w in link_weights]
        self._ib_scale_opt = ib_scale
        self.kl_weight = float(kl_weight)
        self._latent_opt = latent_dims
        self.inter_dim, self.drop_prob, self.readout_dropout = (
            int(inter_dim),
            float(drop_prob),
            float(readout_dropout),
        )
        self.preset, self.decoder_dropout, self.init = preset, bool(decoder_dropout), init
        self.prime_encoder_kind, self.readout, self.pool = prime_encoder, readout, pool
        # with the reference readout the prediction is a function of the prime modality alone
        self.multimodal = readout == "fused"  # type: ignore[misc]
        self.shift, self.sample_eval, self.scale_mode = float(shift), bool(sample_eval), scale
        self._d_model_opt = d_model
        self.estimator, self.order_criterion = estimator, order_criterion
        self.order_max_samples, self.order_max_dim = int(order_max_samples), int(order_max_dim)
        self.track_info_plane = bool(track_info_plane)
        #: (epoch, link, detector, rate in nats, per-dim KL, reconstruction MSE) per epoch end
        self.info_plane: list[dict[str, Any]] = []
        self.order_report: Any = None
        self._warned_unfitted = False

        if order is None and prime is None and preset == "reference":
            order = reference_order(list(self.modality_names))
        parsed = _parse_order(order)
        self.order_auto = parsed == "auto"
        if isinstance(parsed, list):
            self._check_order(parsed)
            chosen = parsed
        else:
            names = list(self.modality_names)
            if prime is not None:
                if prime not in names:
                    raise ConfigError(f"ITHP prime '{prime}' is not among the modalities {names}")
                names = [prime] + [m for m in names if m != prime]
            chosen = names
        self._fixed_prime = prime
        self._build(chosen)

    # ---------------------------------------------------------------- construction
    def _check_order(self, order: list[str]) -> None:
        if len(order) < 2:
            raise ConfigError(f"ITHP order needs a prime and at least one detector, got {order}")
        if len(set(order)) != len(order):
            raise ConfigError(f"ITHP order names a modality twice: {order}")
        for m in order:
            if m not in self.spec.names:
                raise ConfigError(
                    f"ITHP order names unknown modality '{m}' (available: {', '.join(self.spec.names)})"
                )

    def _build(self, order: list[str]) -> None:
        """(Re)create every module for ``order = [prime, detector_1, ...]``."""
        self.prime, self.detectors = order[0], list(order[1:])
        k = len(self.detectors)
        pspec = self.spec.modality(self.prime)
        lat = self._latent_opt
        if lat is None:
            self.latent_dims = [max(128 >> i, 16) for i in range(k)]
        elif isinstance(lat, int):
            self.latent_dims = [int(lat)] * k
        else:
            if len(lat) != k:
                raise ConfigError(f"ITHP latent_dims has {len(lat)} entries for {k} detectors")
            self.latent_dims = [int(d) for d in lat]
        self.recon_weights = self._recon_weights_opt or [self.beta] + [self.gamma] * (k - 1)
        self.link_weights = self._link_weights_opt or [self.lam**i for i in range(k)]
        for opt, ws in (("recon_weights", self.recon_weights), ("link_weights", self.link_weights)):
            if len(ws) != k:
                raise ConfigError(f"ITHP {opt} has {len(ws)} entries for {k} detectors")
        total = sum(self.recon_weights)
        self.ib_scale = (
            float(self._ib_scale_opt)
            if self._ib_scale_opt is not None
            else (k / total if total > 0 else 1.0)
        )

        self.d_model = (
            pspec.dim
            if self.prime_encoder_kind == "identity"
            else int(self._d_model_opt or self.hidden)
        )
        self.prime_net = _PrimeEncoder(
            self.prime_encoder_kind, pspec.dim, self.d_model, pspec.seq_len or 1, self.dropout
        )
        sigmoid = self.scale_mode in ("minmax", "minmax_global")
        self.link_enc = nn.ModuleList()
        self.link_dec = nn.ModuleList()
        # named taps on each bottleneck B_k (no parameters): the information-plane analysis
        # hooks them (``info_plane_layers``)
        self.bottleneck = nn.ModuleList([_Tap() for _ in self.detectors])
        self.scalers = nn.ModuleDict()
        self.aligned: list[bool] = []
        in_dim = self.d_model
        for det, latent in zip(self.detectors, self.latent_dims, strict=True):
            dspec = self.spec.modality(det)
            self.link_enc.append(_mlp(in_dim, self.inter_dim, 2 * latent, self.drop_prob))
            self.link_dec.append(
                _mlp(
                    latent,
                    self.inter_dim,
                    dspec.dim,
                    self.drop_prob,
                    sigmoid=sigmoid,
                    out_dropout=self.decoder_dropout,
                )
            )
            self.scalers[det] = _TargetScaler(dspec.dim, self.scale_mode)
            # per-token reconstruction only when detector and prime share the time axis
            self.aligned.append(
                bool(pspec.is_sequence and dspec.is_sequence and dspec.seq_len == pspec.seq_len)
            )
            in_dim = latent
        self.expand = nn.Linear(self.latent_dims[-1], self.d_model)
        self.norm = nn.LayerNorm(self.d_model)
        self.read_drop = nn.Dropout(self.readout_dropout)
        pooled_dim = self.d_model
        if self.readout == "fused":
            self.det_encoders = nn.ModuleDict(
                {
                    d: make_encoder(
                        self.spec.modality(d),
                        self.embed_dim,
                        self.encoder_kind,
                        self.hidden,
                        self.dropout,
                    )
                    for d in self.detectors
                }
            )
            pooled_dim += self.embed_dim * k
        self.pooler = nn.Sequential(nn.Linear(pooled_dim, self.d_model), nn.Tanh())
        self.head = nn.Sequential(nn.Dropout(self.dropout), nn.Linear(self.d_model, self.out_dim))
        if self.init == "reference":
            # the reference's own layers only: the prime path stands in for a *pretrained*
            # backbone (whose weights the reference does not initialise) and the fused readout's
            # detector encoders are the package's shared encoders; both keep PyTorch's defaults
            for part in (
                self.link_enc,
                self.link_dec,
                self.expand,
                self.norm,
                self.pooler,
                self.head,
            ):
                part.apply(reference_init)

    @classmethod
    def for_dataset(cls, dataset: Any, **options: Any) -> ITHP:
        """Build for ``dataset``, resolving ``order="auto"`` and fitting target scaling now."""
        model = cls(dataset.spec, **options)
        model.prepare(dataset)
        return model

    @property
    def order(self) -> list[str]:
        """``[prime, detector_1, ..., detector_K]``."""
        return [self.prime, *self.detectors]

    # ---------------------------------------------------------------- data-dependent setup
    def resolve_order(self, dataset: Any, split: str = "train") -> Any:
        """Choose the order from estimated MI on ``split`` and rebuild if it changed.

        Returns:
            The :class:`~infofusion.methods.ithp_order.OrderReport`.
        """
        from infofusion.methods.ithp_order import choose_order

        report = choose_order(
            dataset,
            candidates=list(self.modality_names),
            prime=self._fixed_prime,
            estimator=self.estimator,
            criterion=self.order_criterion,
            split=split,
            max_samples=self.order_max_samples,
            max_dim=self.order_max_dim,
        )
        if report.order != self.order:
            device = next(self.parameters()).device
            self._build(report.order)
            self.to(device)
        self.order_report = report
        return report

    @torch.no_grad()
    def fit_target_scaling(self, dataset: Any, split: str = "train") -> None:
        """Fit each detector's target scaling on ``split`` (valid positions only)."""
        index = dataset.indices(split)
        for det, aligned in zip(self.detectors, self.aligned, strict=True):
            if not aligned:  # reconstructed as one vector: a sequence pooled over valid steps
                self.scalers[det].fit(dataset.pooled(det, index, dtype=torch.float32))
                continue
            x = dataset.modality(det)[index].float()
            mask = dataset.mask(det, index)
            pmask = dataset.mask(self.prime, index)
            if pmask is not None:
                mask = pmask if mask is None else mask & pmask
            # the valid (token, feature) rows are selected: the padding is never read
            self.scalers[det].fit(x[mask] if mask is not None else x.reshape(-1, x.shape[-1]))

    def prepare(self, dataset: Any, split: str = "train") -> None:
        """Resolve an automatic order (if asked) and fit target scaling on ``split``."""
        if self.order_auto:
            self.resolve_order(dataset, split)
        self.fit_target_scaling(dataset, split)

    # ---------------------------------------------------------------- trainer hooks
    def on_fit_start(self, trainer: Any) -> None:
        """Resolve an automatic order and fit detector scaling on the training split only."""
        self.info_plane = []
        self.prepare(trainer.data, "train")  # may rebuild the modules: the engine wraps for DDP after

    def on_epoch_end(self, epoch: int, trainer: Any) -> None:
        if not self.track_info_plane:
            return
        data = trainer.data
        split = "valid" if "valid" in data.splits else "train"
        self.info_plane.extend(self.information_plane_points(data, split, epoch))

    def resolved_options(self) -> dict[str, Any]:
        """The effective value of every option after the preset and the package defaults
        (``get_params`` records what was passed, ``None`` where the preset decided)."""
        return {
            "preset": self.preset,
            "order": "auto" if self.order_auto else list(self.order),
            "beta": self.beta,
            "gamma": self.gamma,
            "lambda": self.lam,
            "recon_weights": self._recon_weights_opt,
            "link_weights": self._link_weights_opt,
            "ib_scale": self._ib_scale_opt,
            "kl_weight": self.kl_weight,
            "latent_dims": list(self.latent_dims),
            "inter_dim": self.inter_dim,
            "drop_prob": self.drop_prob,
            "decoder_dropout": self.decoder_dropout,
            "readout_dropout": self.readout_dropout,
            "dropout": self.dropout,
            "d_model": self.d_model,
            "prime_encoder": self.prime_encoder_kind,
            "readout": self.readout,
            "pool": self.pool,
            "init": self.init,
            "shift": self.shift,
            "sample_eval": self.sample_eval,
            "scale": self.scale_mode,
        }

    def rebuild_options(self) -> dict[str, Any]:
        """The options with the order this model was built with (an automatic order resolved
        on the training data is fixed), so a saved model rebuilds without data."""
        return {**self.get_params(), "order": list(self.order)}

    def run_info(self) -> dict[str, Any]:
        """The modality order used (and, when chosen automatically, the estimates behind it),
        the effective options (:meth:`resolved_options`) and, when tracked, the information-plane
        points of every link (``bottleneck_plane``: what the comparison report draws)."""
        info: dict[str, Any] = {"modality_order": self.order, "resolved_options": self.resolved_options()}
        if self.order_report is not None:
            info["order_report"] = self.order_report.to_dict()
        if self.info_plane:  # per epoch and link: compression and detector reconstruction
            info["bottleneck_plane"] = [dict(p) for p in self.info_plane]
        return info

    @torch.no_grad()
    def save_plots(self, stem: str, result: Any = None) -> list[str]:
        """Trainer-facing plot hook: the information plane of this run (PNG and SVG)."""
        if not self.info_plane:
            return []
        from infofusion.report.information_plane import plot_information_plane

        paths = plot_information_plane(self.info_plane, f"{stem}_information_plane.png")
        return [str(p) for p in paths]

    def information_plane_points(
        self, dataset: Any, split: str, epoch: int | None = None, batch_size: int = 512
    ) -> list[dict[str, Any]]:
        """Mean rate (KL in nats), per-dim KL and reconstruction MSE of each link on ``split``."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        sums: dict[str, float] = {}
        n = 0
        try:
            for batch in dataset.batches(split, batch_size=batch_size):
                out = self(batch.to(device))
                b = len(batch)
                n += b
                for k in range(len(self.detectors)):
                    for key in ("rate", "kl", "recon"):
                        name = f"{key}/link{k}"
                        sums[name] = sums.get(name, 0.0) + float(out.diagnostics[name].sum())
        finally:
            self.train(was_training)
        return [
            {
                "epoch": epoch,
                "split": split,
                "link": k,
                "detector": det,
                "rate": sums[f"rate/link{k}"] / max(n, 1),
                "kl": sums[f"kl/link{k}"] / max(n, 1),
                "recon": sums[f"recon/link{k}"] / max(n, 1),
            }
            for k, det in enumerate(self.detectors)
        ]

    def info_plane_layers(self) -> list[str]:
        """The bottlenecks ``bottleneck.k`` (latent B_k of link k, the mean in evaluation), which
        ``--info-plane default`` measures."""
        return [f"bottleneck.{k}" for k in range(len(self.detectors))]

    def loss_weights(self) -> dict[str, float]:
        """Weights that turn the returned terms into ``task + c * sum_k w_k (KL_k + r_k MSE_k)``."""
        weights = {"task": 1.0}
        for k in range(len(self.detectors)):
            w = self.ib_scale * self.link_weights[k]
            weights[f"kl/link{k}"] = w * self.kl_weight
            weights[f"recon/link{k}"] = w * self.recon_weights[k]
        return weights

    def total_loss(self, out: MethodOutput) -> torch.Tensor:
        """The training objective of ``out`` (what the trainer minimises)."""
        weights = self.loss_weights()
        return sum(weights.get(k, 1.0) * v for k, v in out.losses.items())  # type: ignore[return-value]

    # ---------------------------------------------------------------- forward
    def _scaled_target(
        self, batch: Batch, k: int, det: str, valid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scaled detector ``k``: ``(B, T, Dk)`` with its mask when aligned, else ``(B, Dk)``."""
        x = batch.x[det]
        dmask = batch.mask(det)
        scaler = self.scalers[det]
        if self.aligned[k]:
            mask = valid if dmask is None else valid & dmask
            # padded targets are selected away before any arithmetic: an inf there would
            # otherwise reach the gradient through the (masked-out) squared error
            x = select_valid(x, mask)
        else:
            mask = None
            if x.ndim == 3:
                x = masked_mean(x, dmask)
        if not bool(scaler.fitted):
            # no training statistics yet (module used outside the trainer): scale by this batch,
            # as the reference does, and say so once
            if not self._warned_unfitted:
                warnings.warn(
                    "ITHP detector scaling is not fitted; using per-batch statistics. Call "
                    "fit_target_scaling(dataset) or train with infofusion.training.fit.",
                    stacklevel=3,
                )
                self._warned_unfitted = True
            rows = x[mask] if mask is not None else x.reshape(-1, x.shape[-1])
            tmp = _TargetScaler(x.shape[-1], self.scale_mode).to(x.device)
            tmp.fit(rows.detach())
            return tmp(x), mask
        return scaler(x), mask

    def forward(self, batch: Batch) -> MethodOutput:
        x0 = batch.x[self.prime]
        valid = batch.mask(self.prime)
        if x0.ndim == 2:
            x0 = x0.unsqueeze(1)  # a vector is a one-token sequence
        if valid is None:
            valid = torch.ones(x0.shape[:2], dtype=torch.bool, device=x0.device)
        else:  # padded tokens are selected away so that nothing non-finite can flow from them
            x0 = select_valid(x0, valid)
        h0 = self.prime_net(x0, valid)  # (B, T, d_model)
        sample = self.training or self.sample_eval
        losses: dict[str, torch.Tensor] = {}
        diag: dict[str, torch.Tensor] = {}
        z = h0
        for k, det in enumerate(self.detectors):
            mu, logvar = self.link_enc[k](z).chunk(2, dim=-1)  # (B, T, L_k) each
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
            z = self.bottleneck[k](z, valid)  # (B, T, L_k), unchanged
            kl = gaussian_kl(mu, logvar)  # (B, T, L_k)
            kl_dim = kl.mean(dim=-1)  # (B, T): the reference averages over latent dims
            target, tmask = self._scaled_target(batch, k, det, valid)
            if self.aligned[k]:
                err = (self.link_dec[k](z) - target).pow(2).mean(dim=-1)  # (B, T)
                recon = masked_mean(err, tmask, dim=None)  # over valid tokens of the batch
                recon_per_sample = masked_mean(err, tmask)  # (B,)
            else:
                err = (self.link_dec[k](masked_mean(z, valid)) - target).pow(2).mean(dim=-1)
                recon, recon_per_sample = err.mean(), err  # (B,): one vector per sample
            losses[f"kl/link{k}"] = masked_mean(kl_dim, valid, dim=None)
            losses[f"recon/link{k}"] = recon
            diag[f"kl/link{k}"] = masked_mean(kl_dim, valid).detach()
            diag[f"rate/link{k}"] = masked_mean(kl.sum(dim=-1), valid).detach()
            diag[f"recon/link{k}"] = recon_per_sample.detach()
        s = self.read_drop(self.norm(self.shift * self.expand(z) + h0))  # (B, T, d_model)
        pooled = masked_mean(s, valid) if self.pool == "mean" else s[:, 0]
        if self.readout == "fused":
            parts = [pooled] + [
                self.det_encoders[d](batch.x[d], batch.mask(d)) for d in self.detectors
            ]
            pooled = torch.cat(parts, dim=-1)
        pred = self.shape_prediction(self.head(self.pooler(pooled)))
        losses["task"] = self.task_loss(pred, batch.y)
        return MethodOutput(prediction=pred, losses=losses, diagnostics=diag)
