"""DMIL: decomposition-based multimodal interaction learning (CVPR 2026, arXiv 2606.11614).

Per sample, the information about the target splits into redundancy R (every modality has it),
uniqueness U_m (only modality m has it) and synergy S (only the modalities together have it),
and the mix changes from sample to sample. DMIL decomposes the representations explicitly and
mixes one prediction per component with a per-sample gate::

    Z_m = E_m(x_m)                                   encoders
    M_m, N_m ~ q(. | Z_m)                            ID: intra (predicts y alone) / inter
    R_m, U_m ~ q(. | M_m),  R = mean_m R_m           CD: redundant / unique parts of M_m
    S = F(N_1, ..., N_M)                             synergy fusion (projections + products)
    y_c = W_c c   for c in {R, U_1, .., U_M, S}       one linear head per component
    g = softmax(G([Z_1; ..; Z_M])),  y = sum_c g_c y_c

Training has three stages (:meth:`DMIL.stages`): (1) encoders + ID on the M heads' task losses,
``alpha`` x KL(M, N) and the reconstruction of each modality from ``[M_m; N_m]``; (2) CD,
synergy fusion, heads and gate with the stage-1 parts frozen, on the task losses of R, U, S and
the output, ``beta`` x (KL(R, U) + the U/R separation) and ``gamma`` x the alignment of the R_m;
(3) everything end to end at ``lr * finetune_lr_factor``. The layer-level choices the paper
leaves open, the ablations and how the defaults were chosen are in ``docs/methods/dmil.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from infofusion.encoders import masked_mean
from infofusion.errors import ConfigError
from infofusion.functional import mi as F_mi
from infofusion.functional.decomposition import (
    decorrelation_penalty,
    gaussian_kl,
    paired_correlation,
)
from infofusion.interfaces import Batch, MethodOutput, StageSpec, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.methods.dmil_modules import (
    ConsistencyDecomposition,
    Gate,
    IntraDecomposition,
    Posterior,
    SynergyFusion,
)
from infofusion.registry import register

DECOMPOSITIONS = ("full", "id", "cd")
GATES = ("learned", "uniform")
SEPARATIONS = ("xcorr", "club", "none")
ALIGNMENTS = ("corr", "mse", "cosine", "infonce")
RECON_TARGETS = ("input", "encoding")
#: stage names, in order; ``forward`` computes the loss terms of the current one
STAGES = ("intra", "components", "finetune")
#: temperature of the cosine scores of the InfoNCE alignment
INFONCE_TEMPERATURE = 0.1


def _standardize(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Zero mean, unit variance per column over the batch ``(B, D)``."""
    x = x - x.mean(dim=0)
    return x / (x.pow(2).mean(dim=0).sqrt() + eps)


def _choice(option: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ConfigError(f"dmil: {option} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return str(value)


@register("method", "dmil")
class DMIL(FusionMethod):
    """DMIL: R/U/S decomposition with one head per component and a per-sample gate, 3 stages.

    Args:
        spec: the task (classification or regression, any number of modalities >= 2).
        alpha: weight of the ID KL terms ``kl/M_<m>``, ``kl/N_<m>`` (stage 1 and 3).
        beta: weight of the CD KL terms ``kl/R_<m>``, ``kl/U_<m>`` and of the U/R separation
            ``sep/<m>`` (stage 2 and 3).
        gamma: weight of the alignment of the ``R_m`` (``align``; stage 2 and 3).
        component_dim: size of every component (M, N, R, U, S).
        variational: Gaussian posteriors for M, N, R, U (reparameterised in training, means in
            evaluation); False is the ablation "plain FC layers" (no KL terms).
        decomposition: ``full`` (ID then CD), ``id`` (ablation "ID only": components M_m and S,
            no CD; the paper's extension to three modalities) or ``cd`` (ablation "CD only": no
            ID, CD and the synergy fusion work on the encodings Z_m).
        gate: ``learned`` (softmax gate network) or ``uniform`` (ablation: weights 1/K).
        separation: penalty separating U_m from R: ``xcorr`` (0.5 x squared batch
            cross-correlations, a second-order proxy of I(U_m; R) in nats), ``club`` (the CLUB
            upper bound on I(U_m; R) of :class:`infofusion.measures.mi.club.CLUB`, its q(R | U_m)
            fitted alongside as ``club_q/<m>``) or ``none``.
        align: alignment of the R_m (their means, averaged over pairs of modalities): ``corr``
            (``mean_d (1 - rho_d)``, batch correlation per coordinate: cannot be met by a
            constant), ``mse`` (squared distance), ``cosine`` or ``infonce`` (``log B`` minus the
            InfoNCE bound on I(R_i; R_j)).
        recon_target: what ``[M_m; N_m]`` reconstructs: ``input`` (the modality's features,
            sequences mean-pooled over valid steps) or ``encoding`` (Z_m, without gradient
            into the target, so the encoder cannot shrink it).
        recon_weight: weight of the reconstruction terms ``recon/<m>``.
        synergy_order: largest group of modalities whose product feature enters the synergy
            fusion (2 .. number of modalities; capped there).
        synergy_layers: layers of the map from the synergy features to S (1: linear).
        synergy_proj_layers: layers of each modality's projection before the products.
        cd_hidden: width of a hidden layer in the CD heads (0: linear heads).
        finetune_lr_factor: learning-rate factor of stage 3.
        stage_epochs: maximum epochs of the three stages (default: the run's ``epochs`` each).
        hidden, embed_dim, encoder, dropout, modalities: as :class:`FusionMethod`.
    """

    family = "decomposition"
    # its synergy component fuses products of all modalities
    expresses_synergy = True

    name: ClassVar[str] = "dmil"

    def __init__(
        self,
        spec: TaskSpec,
        alpha: float = 1e-2,
        beta: float = 0.1,
        gamma: float = 1.0,
        component_dim: int = 32,
        variational: bool = True,
        decomposition: str = "full",
        gate: str = "learned",
        separation: str | None = "xcorr",
        align: str = "corr",
        recon_target: str = "input",
        recon_weight: float = 1.0,
        synergy_order: int = 3,
        synergy_layers: int = 2,
        synergy_proj_layers: int = 1,
        cd_hidden: int = 0,
        finetune_lr_factor: float = 0.5,
        stage_epochs: Sequence[int] | None = None,
        hidden: int = 128,
        embed_dim: int = 64,
        encoder: str = "auto",
        dropout: float = 0.1,
        modalities: Sequence[str] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(spec, hidden=hidden, embed_dim=embed_dim, encoder=encoder, dropout=dropout,
                         modalities=modalities, **kw)
        names = self.modality_names
        if len(names) < 2:
            raise ConfigError(f"dmil needs at least two modalities, got {list(names)}")
        for option, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("recon_weight", recon_weight)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"dmil: {option} must be a finite number >= 0, got {value!r}")
        if not (isinstance(finetune_lr_factor, int | float) and finetune_lr_factor > 0):
            raise ConfigError(f"dmil: finetune_lr_factor must be > 0, got {finetune_lr_factor!r}")
        for option, value, least in (("component_dim", component_dim, 1), ("synergy_order", synergy_order, 2),
                                     ("synergy_layers", synergy_layers, 1),
                                     ("synergy_proj_layers", synergy_proj_layers, 1), ("cd_hidden", cd_hidden, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(f"dmil: {option} must be an integer >= {least}, got {value!r}")
        if stage_epochs is not None:
            if isinstance(stage_epochs, str) or len(stage_epochs) != 3 or not all(
                isinstance(e, int) and not isinstance(e, bool) and e >= 1 for e in stage_epochs
            ):
                raise ConfigError(f"dmil: stage_epochs must be three integers >= 1 (one per stage), got {stage_epochs!r}")
            stage_epochs = list(stage_epochs)
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.component_dim = dim = component_dim
        self.variational = bool(variational)
        self.decomposition = _choice("decomposition", decomposition, DECOMPOSITIONS)
        self.gate_kind = _choice("gate", gate, GATES)
        # ``--set separation=none`` reaches here as None (the CLI reads "none" as null)
        self.separation = _choice("separation", "none" if separation is None else separation, SEPARATIONS)
        self.align = _choice("align", align, ALIGNMENTS)
        self.recon_target = _choice("recon_target", recon_target, RECON_TARGETS)
        self.recon_weight = float(recon_weight)
        self.synergy_order = min(synergy_order, len(names))
        self.finetune_lr_factor = float(finetune_lr_factor)
        self.stage_epochs = stage_epochs
        self._phase = "full"  # the stage being trained; "full" outside training: every term

        self.encoders = self.make_encoders()
        use_id = self.decomposition in ("full", "id")
        use_cd = self.decomposition in ("full", "cd")
        intra_dim = dim if use_id else self.embed_dim
        #: ID per modality (None for the "cd" ablation: M_m = N_m = Z_m)
        self.id: nn.ModuleDict | None = None
        if use_id:
            self.id = nn.ModuleDict({
                m: IntraDecomposition(self.embed_dim, dim, self._recon_dim(m), self.hidden, self.variational)
                for m in names
            })
        #: the M heads: each modality's own prediction (``MethodOutput.unimodal``)
        self.intra_heads = nn.ModuleDict({m: nn.Linear(intra_dim, self.out_dim) for m in names})
        self.cd: ConsistencyDecomposition | None = None
        self.club: nn.ModuleDict | None = None
        if use_cd:
            self.cd = ConsistencyDecomposition(names, intra_dim, dim, self.variational, cd_hidden or None)
            if self.separation == "club":
                from infofusion.measures.mi.club import CLUB

                self.club = nn.ModuleDict({m: CLUB(dim, dim, hidden=(self.hidden,)) for m in names})
        self.synergy = SynergyFusion(names, intra_dim, dim, dim, self.hidden, self.synergy_order,
                                     synergy_layers, self.dropout, synergy_proj_layers)
        if use_cd:
            self.components: tuple[str, ...] = ("R", *(f"U_{m}" for m in names), "S")
        else:
            self.components = (*(f"M_{m}" for m in names), "S")
        #: heads of the components that have their own (in "id" the M_m use the M heads)
        self.heads = nn.ModuleDict({c: nn.Linear(dim, self.out_dim) for c in self.components if not c.startswith("M_")})
        self.gate: Gate | None = None
        if self.gate_kind == "learned":
            self.gate = Gate(self.embed_dim * len(names), self.hidden, len(self.components), self.dropout)
        self._weights = self._make_loss_weights()

    # ---------------------------------------------------------------- structure
    def _recon_dim(self, m: str) -> int:
        return self.spec.modality(m).dim if self.recon_target == "input" else self.embed_dim

    def _make_loss_weights(self) -> dict[str, float]:
        w: dict[str, float] = {}
        for m in self.modality_names:
            w.update({f"kl/M_{m}": self.alpha, f"kl/N_{m}": self.alpha, f"recon/{m}": self.recon_weight})
            w.update({f"kl/R_{m}": self.beta, f"kl/U_{m}": self.beta, f"sep/{m}": self.beta})
        w["align"] = self.gamma
        return w

    def parameter_groups(self) -> dict[str, list[nn.Module | nn.Parameter]]:
        groups: dict[str, list[nn.Module | nn.Parameter]] = {
            "encoders": [self.encoders],
            "intra": [p for p in (self.id, self.intra_heads) if p is not None],
            "synergy": [self.synergy],
        }
        if self.cd is not None:
            groups["consistency"] = [p for p in (self.cd, self.club) if p is not None]
        if len(self.heads):
            groups["heads"] = [self.heads]
        if self.gate is not None:
            groups["gate"] = [self.gate]
        return groups

    def stages(self) -> list[StageSpec]:
        """The three stages, each selecting its weights on the validation split.

        1. ``intra``: encoders + ID (and the M heads), selected on the run's metric of the
           averaged M heads (the stage's prediction: the gate is untrained).
        2. ``components``: CD, synergy fusion, heads and gate; the stage-1 weights frozen (they
           still run in training mode, so the new parts learn on the sampled M_m, N_m they will
           also see in stage 3).
        3. ``finetune``: everything at ``lr * finetune_lr_factor``.

        Stages 2 and 3 select on the run's metric of the gated output.
        """
        e1, e2, e3 = self.stage_epochs or (None, None, None)
        second = tuple(g for g in ("consistency", "synergy", "heads", "gate") if g in self.parameter_groups())
        return [
            StageSpec("intra", max_epochs=e1, train=("encoders", "intra")),
            StageSpec("components", max_epochs=e2, train=second),
            StageSpec("finetune", max_epochs=e3, lr_factor=self.finetune_lr_factor),
        ]

    def on_stage_start(self, stage: StageSpec, trainer: Any) -> None:
        self._phase = stage.name

    def loss_weights(self) -> dict[str, float]:
        return self._weights

    def run_info(self) -> dict[str, Any]:
        return {"components": list(self.components)}

    # ---------------------------------------------------------------- forward
    def _recon_target(self, batch: Batch, m: str, z: torch.Tensor) -> torch.Tensor:
        if self.recon_target == "encoding":
            return z.detach()
        x = batch.x[m]
        return masked_mean(x, batch.mask(m)) if x.ndim == 3 else x

    def _average(self, preds: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean of the M heads' probabilities (as log-probabilities) or scores."""
        stacked = torch.stack(list(preds.values()))  # (M, B, C) or (M, B)
        if self.spec.task == "classification":
            return torch.log(torch.softmax(stacked, dim=-1).mean(dim=0).clamp_min(1e-12))
        return stacked.mean(dim=0)

    def _alignment(self, r: list[torch.Tensor]) -> torch.Tensor:
        """Mean over pairs of modalities of the disagreement of their R means ``(B, D)``."""
        terms = []
        for a, b in itertools.combinations(r, 2):
            if self.align == "corr":
                terms.append((1.0 - paired_correlation(a, b)).mean())
            elif self.align == "mse":
                terms.append((a - b).pow(2).sum(dim=-1).mean())
            elif self.align == "cosine":
                terms.append((1.0 - F.cosine_similarity(a, b, dim=-1)).mean())
            elif a.shape[0] < 2:  # InfoNCE needs negatives
                terms.append((a - b).sum() * 0.0)
            else:
                scores = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / INFONCE_TEMPERATURE  # (B, B)
                terms.append(math.log(a.shape[0]) - F_mi.infonce(scores))
        return torch.stack(terms).mean()

    def _separation(self, m: str, u: torch.Tensor, r: torch.Tensor, losses: dict[str, torch.Tensor]) -> None:
        """``sep/<m>``: the penalty on what U_m shares with R (and ``club_q/<m>``: the fit of
        CLUB's q(R | U_m), which alone trains q; the bound reaches only U_m and R)."""
        if self.separation == "xcorr":
            losses[f"sep/{m}"] = decorrelation_penalty(u, r)
            return
        if u.shape[0] < 2 or not self.training:  # the bound needs a training batch of pairs
            return
        # CLUB's q has a variance <= 1 (it expects standardised data): standardise over the batch,
        # a per-coordinate affine map that leaves I(U_m; R) unchanged
        self._club(self.club[m], _standardize(u), _standardize(r), f"sep/{m}", f"club_q/{m}", losses)  # type: ignore[index]

    @staticmethod
    def _club(critic: nn.Module, x: torch.Tensor, y: torch.Tensor, bound: str, fit: str,
              losses: dict[str, torch.Tensor]) -> None:
        """CLUB bound on I(x; y) through ``critic``'s ``q(y | x)`` with the critic's parameters
        held fixed (its gradient reaches only ``x`` and ``y``), and the critic's own fit on
        detached inputs (which alone trains the critic)."""
        from torch.func import functional_call

        fixed = {k: v.detach() for k, v in critic.named_parameters()}
        losses[bound] = functional_call(critic, fixed, (x, y))
        losses[fit] = critic.learning_loss(x.detach(), y.detach())

    def forward(self, batch: Batch) -> MethodOutput:
        phase = self._phase
        first = phase in ("intra", "finetune", "full")  # stage-1 terms
        second = phase in ("components", "finetune", "full")  # stage-2 terms
        z = self.encode(self.encoders, batch)  # m -> (B, E)
        losses: dict[str, torch.Tensor] = {}
        diag: dict[str, torch.Tensor] = {}
        intra: dict[str, torch.Tensor] = {}
        inter: dict[str, torch.Tensor] = {}
        for m in self.modality_names:
            if self.id is None:  # "cd" ablation: CD and the synergy fusion see Z_m
                intra[m] = inter[m] = z[m]
                continue
            pm, pn = self.id[m](z[m])
            intra[m], inter[m] = pm.value, pn.value  # (B, D) each
            diag[f"norm/M_{m}"] = pm.mu.norm(dim=-1)
            diag[f"norm/N_{m}"] = pn.mu.norm(dim=-1)
            if first:
                self._kl(losses, f"M_{m}", pm)
                self._kl(losses, f"N_{m}", pn)
                recon = self.id[m].reconstruct(pm.value, pn.value)
                losses[f"recon/{m}"] = F.mse_loss(recon, self._recon_target(batch, m, z[m]))
        uni = {m: self.shape_prediction(self.intra_heads[m](intra[m])) for m in self.modality_names}
        if first:
            for m in self.modality_names:
                losses[f"task/M_{m}"] = self.task_loss(uni[m], batch.y)
        if phase == "intra":  # stage 1 is judged by its M heads
            return MethodOutput(self._average(uni), losses, diag, uni)

        comps: dict[str, torch.Tensor] = {}
        sub: dict[str, torch.Tensor] = {}
        if self.cd is not None:
            r, u, shared = self.cd(intra)
            comps["R"] = shared
            for m in self.modality_names:
                comps[f"U_{m}"] = u[m].value
            if second:
                r_mean = torch.stack([r[m].mu for m in self.modality_names]).mean(dim=0)  # (B, D)
                for m in self.modality_names:
                    self._kl(losses, f"R_{m}", r[m])
                    self._kl(losses, f"U_{m}", u[m])
                    if self.separation != "none":
                        self._separation(m, u[m].mu, r_mean, losses)
                losses["align"] = self._alignment([r[m].mu for m in self.modality_names])
        else:  # "id" ablation: the M_m are the components, predicted by their M heads
            for m in self.modality_names:
                comps[f"M_{m}"] = intra[m]
                sub[f"M_{m}"] = uni[m]
        comps["S"] = self.synergy(inter)
        for c in self.heads:
            sub[c] = self.shape_prediction(self.heads[c](comps[c]))
            if second:
                losses[f"task/{c}"] = self.task_loss(sub[c], batch.y)
        stacked = torch.stack([sub[c] for c in self.components], dim=1)  # (B, K, C) or (B, K)
        if self.gate is None:
            weights = stacked.new_full(stacked.shape[:2], 1.0 / len(self.components))  # (B, K)
        else:
            weights = self.gate(torch.cat([z[m] for m in self.modality_names], dim=-1))  # (B, K)
        w = weights.unsqueeze(-1) if stacked.ndim == 3 else weights
        pred = (w * stacked).sum(dim=1)  # (B, C) or (B,)
        losses["task"] = self.task_loss(pred, batch.y)
        for k, c in enumerate(self.components):
            diag[f"gate/{c}"] = weights[:, k]
            diag[f"pred/{c}"] = sub[c]
            diag[f"norm/{c}"] = comps[c].norm(dim=-1)
        return MethodOutput(pred, losses, diag, uni)

    def _kl(self, losses: dict[str, torch.Tensor], name: str, post: Posterior) -> None:
        if post.logvar is not None:
            losses[f"kl/{name}"] = gaussian_kl(post.mu, post.logvar).mean()

    # ---------------------------------------------------------------- plots
    def save_plots(self, stem: str, result: Any) -> list[str]:
        """Gate weights of the test samples by their interaction type: the true type where the
        dataset has one (``sample_meta["interaction"]``, with the confusion matrix of the
        argmax gate), otherwise the dominant atom of the pointwise composition
        (:func:`infofusion.measures.pointwise.pointwise_composition`, two modalities), otherwise
        by class. See :mod:`infofusion.report.gate`."""
        from infofusion.report.gate import plot_dmil_gates

        return plot_dmil_gates(stem, result, self.components, self.modality_names)
