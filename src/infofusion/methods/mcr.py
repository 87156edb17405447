"""MCR: the multimodal competition regulariser (Kontras et al., arXiv 2411.07335).

Each modality's *influence* on the fused prediction is measured by permuting that modality's
features across the batch and taking the Jensen-Shannon divergence between the fused
predictions before and after; a game between the modalities decides, per gradient path, which
influences are raised and which lowered. Equations, choices and measurements:
``docs/methods/mcr.md``.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from infofusion.errors import ConfigError
from infofusion.functional.fusion import GAMES, competition_game, js_divergence, supervised_nt_xent
from infofusion.interfaces import Batch, MethodOutput, StageSpec, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.registry import register

_PRETRAIN = "pretrain:"


def _mix(*parts: int) -> int:
    """A 63-bit seed from integers (stable across processes and Python runs)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


@register("method", "mcr")
class MCR(FusionMethod):
    """Multimodal competition regulariser: permutation-based influence terms in a game.

    The fused prediction is ``head(sum_m P_m f_m + b)`` (``fusion="linear"``: ``head`` is the
    identity and ``P_m`` maps to the classes; ``"mlp"``: ``P_m`` maps to ``hidden`` and
    ``head`` is ReLU-Dropout-Linear, the joint-fusion architecture). For each modality ``m``
    and each of ``permutations`` random batch permutations, ``P_m f_m`` is replaced by its
    permuted copy; the Jensen-Shannon divergence to the unpermuted prediction, with the
    gradient through ``m``'s path only (``own``), through the other paths only (``rest``) or
    through all (``both``), enters the game (:func:`~infofusion.functional.fusion.competition_game`)
    weighted by ``lam``. Per-modality linear heads are trained beside (``uni/<m>``), first
    alone in one unimodal pre-training stage per modality (``pretrain=True``). Optional terms:
    supervised contrastive on the stacked features (``contrastive``) and the conditional
    entropy bottleneck (``ceb``).

    Args:
        spec: the task.
        lam: weight of the game term (``lambda`` is accepted too).
        game: ``greedy`` (default), ``independent`` or ``collaborative``.
        permutations: batch permutations per step (``P``).
        fusion: ``mlp`` (default) or ``linear``.
        unimodal_weight: weight of each unimodal head's task loss after pre-training.
        contrastive: weight of the supervised contrastive term (0: off; classification only).
        temperature: temperature of the contrastive term.
        ceb: weight of the conditional-entropy-bottleneck term (0: off).
        pretrain: one unimodal pre-training stage per modality before the fused training.
        pretrain_epochs: epoch budget of each pre-training stage (default: the run's epochs).
        diagnostic_permutations: permutations used for the per-sample sensitivities returned
            at evaluation (``js/<m>``; 0: none).
    """

    family = "regularised-joint"
    # a joint fusion head with a competition regulariser
    expresses_synergy = True

    name = "mcr"
    option_aliases: ClassVar[dict[str, str]] = {"lambda": "lam"}
    # unimodal heads weighted 0 and the stages leave trainable parts without gradient
    ddp_find_unused_parameters: ClassVar[bool | None] = True

    def __init__(
        self,
        spec: TaskSpec,
        lam: float = 0.1,
        game: str = "greedy",
        permutations: int = 8,
        fusion: str = "mlp",
        unimodal_weight: float = 0.01,
        contrastive: float = 0.0,
        temperature: float = 0.5,
        ceb: float = 0.0,
        pretrain: bool = True,
        pretrain_epochs: int | None = None,
        diagnostic_permutations: int = 8,
        **kw: Any,
    ) -> None:
        super().__init__(spec, **kw)
        if len(self.modality_names) < 2:
            raise ConfigError(
                f"mcr: needs at least two modalities (each modality's influence is measured against the "
                f"others), got {list(self.modality_names)}"
            )
        if game not in GAMES:
            raise ConfigError(f"mcr: game must be one of {', '.join(GAMES)}, got {game!r}")
        if fusion not in ("mlp", "linear"):
            raise ConfigError(f"mcr: fusion must be 'mlp' or 'linear', got {fusion!r}")
        for opt, value in (("lam", lam), ("unimodal_weight", unimodal_weight), ("contrastive", contrastive), ("ceb", ceb)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"mcr: {opt} must be a finite number, got {value!r}")
            if opt != "lam" and value < 0:
                raise ConfigError(f"mcr: {opt} must be >= 0, got {value!r}")
        for opt, value, low in (("permutations", permutations, 1), ("diagnostic_permutations", diagnostic_permutations, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"mcr: {opt} must be an integer >= {low}, got {value!r}")
        if pretrain_epochs is not None and (isinstance(pretrain_epochs, bool) or not isinstance(pretrain_epochs, int) or pretrain_epochs < 1):
            raise ConfigError(f"mcr: pretrain_epochs must be an integer >= 1 or None, got {pretrain_epochs!r}")
        if not temperature > 0:
            raise ConfigError(f"mcr: temperature must be > 0, got {temperature!r}")
        if contrastive > 0 and spec.task != "classification":
            raise ConfigError(
                "mcr: the supervised contrastive term needs class labels (positives share a class); "
                f"set contrastive=0 for a {spec.task} task"
            )
        self.lam, self.game, self.permutations, self.fusion = float(lam), game, permutations, fusion
        self.unimodal_weight, self.contrastive, self.temperature = float(unimodal_weight), float(contrastive), temperature
        self.ceb, self.pretrain, self.pretrain_epochs = float(ceb), bool(pretrain), pretrain_epochs
        self.diagnostic_permutations = diagnostic_permutations

        self.encoders = self.make_encoders()
        self.uni_heads = nn.ModuleDict({m: nn.Linear(self.embed_dim, self.out_dim) for m in self.modality_names})
        width = self.out_dim if fusion == "linear" else self.hidden
        # P_m: each modality's additive contribution to the fused pre-activation (B, width)
        self.proj = nn.ModuleDict({m: nn.Linear(self.embed_dim, width, bias=False) for m in self.modality_names})
        self.bias = nn.Parameter(torch.zeros(width))
        self.head: nn.Module = (
            nn.Identity() if fusion == "linear"
            else nn.Sequential(nn.ReLU(), nn.Dropout(self.dropout), nn.Linear(self.hidden, self.out_dim))
        )
        if self.ceb > 0:  # g(y): predicts the stacked features from the (detached) prediction
            e, n = self.embed_dim, len(self.modality_names)
            self.ceb_net = nn.Sequential(nn.Linear(self.out_dim, e), nn.ReLU(), nn.Linear(e, n * e))
        # training context, set by the hooks (defaults serve a forward outside the trainer)
        self._stage, self._stage_index, self._seed, self._rank, self._epoch, self._step = "main", 0, 0, 0, 0, 0

    # ---------------------------------------------------------------- hooks
    def stages(self) -> list[StageSpec]:
        if not self.pretrain:
            return []
        from infofusion.evaluation.metrics import primary_metric

        metric = primary_metric(self.spec.task)
        pre = [
            StageSpec(f"{_PRETRAIN}{m}", max_epochs=self.pretrain_epochs, metric=f"{m}/{metric}",
                      train=(f"encoder:{m}", f"unimodal_head:{m}"))
            for m in self.modality_names
        ]
        return [*pre, StageSpec("main")]

    def parameter_groups(self) -> dict[str, list[nn.Module | nn.Parameter]]:
        groups: dict[str, list[nn.Module | nn.Parameter]] = {}
        for m in self.modality_names:
            groups[f"encoder:{m}"] = [self.encoders[m]]
            groups[f"unimodal_head:{m}"] = [self.uni_heads[m]]
        return groups

    def on_fit_start(self, trainer: Any) -> None:
        self._seed, self._rank = int(trainer.config.seed), int(trainer.rank)

    def on_stage_start(self, stage: StageSpec, trainer: Any) -> None:
        names = [s.name for s in (self.stages() or [StageSpec("main")])]
        self._stage, self._stage_index = stage.name, names.index(stage.name)

    def on_epoch_start(self, epoch: int, trainer: Any) -> None:
        self._epoch, self._step = epoch, 0

    def loss_weights(self) -> dict[str, float]:
        uni = [f"uni/{m}" for m in self.modality_names]
        if self._stage.startswith(_PRETRAIN):
            trained = f"uni/{self._stage[len(_PRETRAIN):]}"
            return {"task": 0.0, **{u: float(u == trained) for u in uni}}
        return {**{u: self.unimodal_weight for u in uni}, "mcr": self.lam, "contrastive": self.contrastive, "ceb": self.ceb}

    # ---------------------------------------------------------------- permutations
    def draw_permutations(self, n: int, batch: Batch) -> torch.Tensor:
        """``(n, B)`` batch permutations, reproducible.

        Training: seeded by (run seed, process rank, stage, epoch, step within the epoch), so a
        run (and a resumed run) draws the same permutations, and under DDP each process
        permutes its own share of the global batch with its own stream. Evaluation: seeded by
        the run seed and the batch's dataset positions, the same on every process.
        """
        b = len(batch)
        if self.training:
            seed = _mix(self._seed, self._rank, self._stage_index, self._epoch, self._step)
        else:
            seed = _mix(self._seed, -1, int(batch.index.sum()), b)
        gen = torch.Generator().manual_seed(seed)
        return torch.rand(n, b, generator=gen).argsort(dim=1).to(batch.y.device)

    def influence(self, permuted: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Divergence of each permuted prediction from the reference: Jensen-Shannon for
        classification (``(P, B, C)`` vs ``(B, C)``), squared difference for regression.

        Returns:
            ``(P, B)``.
        """
        if self.spec.task == "classification":
            return js_divergence(permuted, reference.unsqueeze(0))
        return (permuted - reference.unsqueeze(0)).pow(2)

    # ---------------------------------------------------------------- forward
    def forward(self, batch: Batch) -> MethodOutput:
        h = self.encode(self.encoders, batch)  # m -> (B, E)
        uni = {m: self.shape_prediction(self.uni_heads[m](h[m])) for m in self.modality_names}
        losses = {f"uni/{m}": self.task_loss(uni[m], batch.y) for m in self.modality_names}
        parts = {m: self.proj[m](h[m]) for m in self.modality_names}  # m -> (B, width)
        pred = self.shape_prediction(self.head(sum(parts.values()) + self.bias))
        losses["task"] = self.task_loss(pred, batch.y)
        diagnostics: dict[str, torch.Tensor] = {}
        if self._stage.startswith(_PRETRAIN):
            return MethodOutput(pred, losses, diagnostics, uni)
        if self.training:
            self._step += 1
            if self.lam != 0:
                losses["mcr"] = self._game_term(parts, batch, diagnostics)
            if self.contrastive > 0:
                z = torch.cat([h[m] for m in self.modality_names])  # (M*B, E)
                labels = batch.y.repeat(len(self.modality_names))
                losses["contrastive"] = supervised_nt_xent(z, labels, self.temperature)
            if self.ceb > 0:
                target = torch.cat([h[m] for m in self.modality_names], dim=-1)  # (B, M*E)
                cond = pred.detach() if pred.ndim == 2 else pred.detach().unsqueeze(-1)
                losses["ceb"] = F.mse_loss(target, self.ceb_net(cond))
        elif self.diagnostic_permutations > 0:
            self._sensitivities(parts, pred, batch, diagnostics)
        return MethodOutput(pred, losses, diagnostics, uni)

    def _clean_head(self, pre: torch.Tensor) -> torch.Tensor:
        """The fused head without its dropout: influence terms compare predictions that differ
        by the permutation only, not by two dropout draws."""
        if self.fusion == "linear":
            return self.shape_prediction(pre)
        return self.shape_prediction(self.head[2](F.relu(pre)))

    def _permuted_prediction(self, moved: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
        """Fused prediction from a permuted contribution ``(P, B, W)`` and the others' ``(B, W)``."""
        return self._clean_head(moved + rest + self.bias)

    def _game_term(self, parts: dict[str, torch.Tensor], batch: Batch, diagnostics: dict[str, torch.Tensor]) -> torch.Tensor:
        perms = self.draw_permutations(self.permutations, batch)  # (P, B)
        need = GAMES[self.game]
        terms: dict[str, dict[str, torch.Tensor]] = {k: {} for k in need}
        reference = self._clean_head(sum(parts.values()) + self.bias)  # the unpermuted prediction, with gradient
        for m in self.modality_names:
            moved = parts[m][perms]  # (P, B, W)
            rest = sum(parts[k] for k in self.modality_names if k != m)  # the others' contribution, (B, W)
            paths = {
                "own": (moved, rest.detach()),  # gradient through m's path only
                "rest": (moved.detach(), rest),  # through the other modalities' paths only
                "both": (moved, rest),
            }
            per_sample = None
            for kind in need:
                d = self.influence(self._permuted_prediction(*paths[kind]), reference)  # (P, B)
                terms[kind][m] = d.mean()
                per_sample = d
            diagnostics[self._diag_key(m)] = per_sample.detach().mean(0)  # type: ignore[union-attr]
        return competition_game(self.game, terms.get("own"), terms.get("rest"), terms.get("both"))

    def _diag_key(self, m: str) -> str:
        return f"js/{m}" if self.spec.task == "classification" else f"sqdiff/{m}"

    def _sensitivities(
        self, parts: dict[str, torch.Tensor], pred: torch.Tensor, batch: Batch, diagnostics: dict[str, torch.Tensor]
    ) -> None:
        """Per-sample influence of each modality (and, for classification, the share of
        permutations under which the prediction stays correct)."""
        perms = self.draw_permutations(self.diagnostic_permutations, batch)
        for m in self.modality_names:
            rest = sum(parts[k] for k in self.modality_names if k != m)
            permuted = self._permuted_prediction(parts[m][perms], rest)  # (P, B, ...)
            diagnostics[self._diag_key(m)] = self.influence(permuted, pred).mean(0)
            if self.spec.task == "classification":
                diagnostics[f"perm_correct/{m}"] = (permuted.argmax(-1) == batch.y.unsqueeze(0)).float().mean(0)
