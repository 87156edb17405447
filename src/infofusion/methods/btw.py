"""BTW: per-sample, per-modality feature weights from KL x MI (Beyond Two-modality Weighting).

Each modality is encoded and projected; modality ``m``'s features on sample ``i`` are
multiplied by a scalar weight ``w[i, m]`` before fusion, and only the task loss is trained.
The weights are *per-sample state* of the method (checkpointed, restored on resume, kept with
the selected weights), all 1 at first and recomputed every ``update_every`` epochs of the fusion
stage from the method's own outputs on every split (``trainer.predict``):

1. instance level: ``KL_i^m`` between modality ``m``'s unimodal prediction and the fused
   prediction on sample ``i`` (categorical KL, or Gaussian KL with a label-free variance);
   normalised (min-max per modality over the split by default);
2. modality level: ``MI^m`` between modality ``m``'s unimodal outputs and the fused outputs
   over the split, from any registered MI estimator (KSG by default), normalised to sum to 1;
3. ``w_new = KL x MI``, renormalised per sample to sum to ``M``;
4. ``w = s w_new + (1 - s) w_old``; the factor ``s`` starts at 0.5 and moves by 0.05 after each
   update: up when the *validation* loss is worse than its best so far, down otherwise.

No label of any split enters a weight: steps 1-3 read predictions only, and step 4's factor
is moved by the validation loss *after* the update it smooths. Unimodal predictions come from
unimodal models pre-trained in one engine stage per modality (``source="pretrained"``, the
reference's way) or from heads on the method's own detached per-modality features
(``source="branches"``). Registered variants: ``btw`` (KL x MI), ``btw-kl`` (KL only, the
paper's ablation) and ``btw-uniform`` (the same network with weights fixed at 1: the control).
See ``docs/methods/btw.md``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from infofusion.encoders import make_encoder
from infofusion.errors import ConfigError
from infofusion.functional.btw import (
    KL_NORMS,
    btw_update,
    class_log_ratios,
    instance_divergence,
    next_smoothing,
)
from infofusion.interfaces import Batch, MethodOutput, StageSpec, TaskSpec
from infofusion.methods.base import FusionMethod
from infofusion.methods.btw_modules import (
    BACKBONES,
    PROJECTIONS,
    ConcatFusion,
    CrossModalTransformer,
    UnimodalModel,
    UpdateLog,
)
from infofusion.registry import register

WEIGHTINGS = ("kl_mi", "kl", "uniform")
SOURCES = ("pretrained", "branches")
DIRECTIONS = ("divergence", "agreement")
VARIANCES = ("fixed", "spread")
MI_SPLITS = ("own", "train", "valid")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _choice(option: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"btw: {option} must be one of {', '.join(allowed)}, got {value!r}")


@register("method", "btw")
class BTW(FusionMethod):
    """Per-sample modality weights from KL (instance) x MI (modality), no learnt weighting.

    Args:
        spec: the task.
        weighting: ``kl_mi`` (BTW), ``kl`` (the BTW-kl ablation) or ``uniform`` (weights stay 1).
        source: where unimodal predictions come from: ``pretrained`` (one unimodal model per
            modality, each trained in its own engine stage ``unimodal:<m>`` and selected on its
            own validation score, then frozen) or ``branches`` (heads on the method's own
            detached per-modality features, trained by their own loss terms ``branch/<m>``,
            which reach only those heads).
        fusion: backbone: ``concat`` (projections -> concatenation -> MLP) or ``transformer``
            (cross-modal Transformer over the tokens of all modalities; for sequence data).
        projection: ``concat`` backbone: ``linear`` projection of each encoder output, ``mlp``
            (the reference's Linear-ReLU-Linear) or ``none``.
        update_every: recompute the weights after every this many epochs of the fusion stage.
        kl_norm: ``minmax`` (per modality over the split; reference), ``sample`` (per sample
            over the modalities; the other reference version) or ``none``.
        direction: ``divergence`` (reference: the more a modality's prediction diverges from the
            fused one on a sample, the larger its weight) or ``agreement`` (``exp(-KL)``: the
            closer, the larger).
        estimator: MI estimator (registry name) of the modality-level weights.
        estimator_options: parameters of the estimator (e.g. ``{"k": 5}``).
        mi_max_samples: MI is estimated on at most this many samples of a split (a fixed subset).
        mi_split: ``own`` (each split's MI weights its own samples; reference), ``train`` or
            ``valid`` (one estimate, from that split's predictions, for every split).
        variance: regression only: ``fixed`` (``sigma_unimodal``, ``sigma_fused``) or ``spread``
            (each model's standard deviation of predictions over the split). Label-free both.
        sigma_unimodal: standard deviation of the unimodal predictive Gaussian (reference 0.1).
        sigma_fused: standard deviation of the fused predictive Gaussian (reference: a network
            trained to output log sigma = 0, i.e. 1).
        smoothing: initial smoothing factor ``s`` (reference 0.5).
        smoothing_step: change of ``s`` after each update (reference 0.05).
        pretrain_epochs: epoch budget of each unimodal stage (default: the run's ``epochs``).
        crossfit: ``source="pretrained"``: unimodal models per modality. 1 (reference): one
            model on the whole training split, so its predictions on training samples are
            in-sample. ``K >= 2``: K-fold cross-fitting: model ``k`` is trained
            without fold ``k`` of the training split and predicts it, so training samples get
            held-out predictions like validation and test samples (which get the mean of the K
            models). Default (None): 5 with ``source="pretrained"``; only 1 is allowed otherwise.
        heads: attention heads (``fusion="transformer"``).
        layers: Transformer layers (``fusion="transformer"``).
        **kw: ``hidden``, ``embed_dim``, ``encoder``, ``dropout``, ``modalities``.
    """

    family = "sample-weighted"
    # a joint backbone over per-sample weighted modality features
    expresses_synergy = True

    name = "btw"

    def __init__(
        self,
        spec: TaskSpec,
        weighting: str = "kl_mi",
        source: str = "pretrained",
        fusion: str = "concat",
        projection: str = "linear",
        update_every: int = 5,
        kl_norm: str = "minmax",
        direction: str = "divergence",
        estimator: str = "ksg",
        estimator_options: dict[str, Any] | None = None,
        mi_max_samples: int = 2000,
        mi_split: str = "own",
        variance: str = "fixed",
        sigma_unimodal: float = 0.1,
        sigma_fused: float = 1.0,
        smoothing: float = 0.5,
        smoothing_step: float = 0.05,
        pretrain_epochs: int | None = None,
        crossfit: int | None = None,
        heads: int = 4,
        layers: int = 1,
        **kw: Any,
    ) -> None:
        super().__init__(spec, **kw)
        for option, value, allowed in (
            ("weighting", weighting, WEIGHTINGS), ("source", source, SOURCES), ("fusion", fusion, BACKBONES),
            ("kl_norm", kl_norm, KL_NORMS), ("direction", direction, DIRECTIONS), ("variance", variance, VARIANCES),
            ("mi_split", mi_split, MI_SPLITS), ("projection", projection, PROJECTIONS),
        ):
            _choice(option, value, allowed)
        if int(update_every) < 1:
            raise ConfigError(f"btw: update_every must be >= 1, got {update_every}")
        if not 0.0 <= float(smoothing) <= 1.0 or not 0.0 <= float(smoothing_step) <= 1.0:
            raise ConfigError(f"btw: smoothing and smoothing_step must lie in [0, 1], got {smoothing}, {smoothing_step}")
        if not (float(sigma_unimodal) > 0 and float(sigma_fused) > 0):
            raise ConfigError(f"btw: sigma_unimodal and sigma_fused must be > 0, got {sigma_unimodal}, {sigma_fused}")
        if int(mi_max_samples) < 20:
            raise ConfigError(f"btw: mi_max_samples must be >= 20, got {mi_max_samples}")
        if pretrain_epochs is not None and int(pretrain_epochs) < 1:
            raise ConfigError(f"btw: pretrain_epochs must be >= 1, got {pretrain_epochs}")
        if crossfit is None:
            crossfit = 5 if source == "pretrained" else 1
        if int(crossfit) < 1 or (int(crossfit) > 1 and source != "pretrained"):
            raise ConfigError(f"btw: crossfit must be >= 1, and 1 unless source='pretrained' (got {crossfit}, source={source!r})")
        if len(self.modality_names) < 2:
            raise ConfigError(f"btw weighs modalities against each other and needs at least 2, got {list(self.modality_names)}")
        self.weighting, self.source, self.fusion, self.projection = weighting, source, fusion, projection
        self.update_every, self.kl_norm, self.direction = int(update_every), kl_norm, direction
        self.estimator, self.estimator_options = estimator, dict(estimator_options or {})
        self.mi_max_samples, self.mi_split = int(mi_max_samples), mi_split
        self.variance, self.sigma_unimodal, self.sigma_fused = variance, float(sigma_unimodal), float(sigma_fused)
        self.smoothing, self.smoothing_step = float(smoothing), float(smoothing_step)
        self.pretrain_epochs = None if pretrain_epochs is None else int(pretrain_epochs)
        self.heads, self.layers = int(heads), int(layers)
        self.crossfit = int(crossfit)
        if self.weighting != "uniform":
            # fail now, not at the first update, on a misspelt estimator or option
            self._make_estimator()

        specs = [spec.modality(m) for m in self.modality_names]
        if fusion == "concat":
            self.backbone: nn.Module = ConcatFusion(specs, self.embed_dim, self.hidden, self.out_dim, self.encoder_kind, self.dropout, projection)
        else:
            self.backbone = CrossModalTransformer(specs, self.embed_dim, self.hidden, self.out_dim, self.heads, self.layers, self.dropout)
        self.teachers = nn.ModuleDict()
        self.branches = nn.ModuleDict()
        if self.weighting != "uniform" and source == "pretrained":
            for s in specs:
                self.teachers[s.name] = nn.ModuleList(
                    UnimodalModel(make_encoder(s, self.embed_dim, self.encoder_kind, self.hidden, self.dropout), self.make_head(self.embed_dim))
                    for _ in range(self.crossfit)
                )
        elif self.weighting != "uniform":
            self.branches.update({m: self.make_head(self.embed_dim) for m in self.modality_names})
        self.phase = "fusion"  # "unimodal:<m>:<k>" while model k of modality m is pre-trained
        # part of the state dict from construction on, so a saved model loads into a rebuilt one
        self.add_module("_update_log", UpdateLog(self.smoothing))

    @property
    def update_log(self) -> UpdateLog:
        """The record of weight updates and the smoothing state (created at fit start, or at
        the first update; part of the state dict from then on)."""
        log = self._modules.get("_update_log")
        if log is None:
            log = UpdateLog(self.smoothing)
            self.add_module("_update_log", log)
        return log  # type: ignore[return-value]

    def _rows(self) -> list[dict[str, Any]]:
        log = self._modules.get("_update_log")
        return [] if log is None else log.rows  # type: ignore[union-attr]

    # ---------------------------------------------------------------- stages and groups
    @property
    def uses_teachers(self) -> bool:
        return len(self.teachers) > 0

    def stages(self) -> list[StageSpec]:
        if not self.uses_teachers:
            return []
        pre = [
            StageSpec(f"unimodal:{m}:{k}", max_epochs=self.pretrain_epochs, train=(f"teacher:{m}:{k}",))
            for m in self.modality_names
            for k in range(self.crossfit)
        ]
        return [*pre, StageSpec("fusion", train=("fusion",))]

    def parameter_groups(self) -> dict[str, list[nn.Module | nn.Parameter]]:
        groups: dict[str, list[nn.Module | nn.Parameter]] = {"fusion": [self.backbone, self.branches]}
        for m, models in self.teachers.items():
            groups.update({f"teacher:{m}:{k}": [t] for k, t in enumerate(models)})
        return groups

    def on_fit_start(self, trainer: Any) -> None:
        n, m = len(trainer.data), len(self.modality_names)
        self.register_sample_state("weights", torch.ones(n, m, device=trainer.device))
        self.register_sample_state("kl", torch.zeros(n, m, device=trainer.device))
        # cross-fitting fold of each training sample (-1: not a training sample), fixed by the seed
        fold = torch.full((n,), -1, dtype=torch.long)
        if self.crossfit > 1:
            train = trainer.data.indices("train")
            order = torch.as_tensor(np.random.default_rng(trainer.config.seed).permutation(len(train)))
            fold[train[order]] = torch.arange(len(train)) % self.crossfit
        self.register_sample_state("fold", fold.to(trainer.device))
        # for the run's record only (never read by an update): the test samples and, where the
        # dataset has it, which of them are corrupted in which modality
        data = trainer.data
        self._test_index = data.indices("test").numpy() if "test" in data.splits else None
        truth = data.sample_meta.get("corrupted")
        cols = [list(data.names).index(name) for name in self.modality_names]
        self._corrupted = None if truth is None else np.asarray(truth)[:, cols].astype(bool)
        self._clock = {"fit_start": time.perf_counter()}
        self.add_module("_update_log", UpdateLog(self.smoothing))
        self.phase = "fusion"
        if self.weighting != "uniform" and self.mi_split != "own" and self.mi_split not in trainer.data.splits:
            raise ConfigError(f"btw: mi_split='{self.mi_split}' but the dataset has no such split ({', '.join(trainer.data.splits)})")

    def on_stage_start(self, stage: StageSpec, trainer: Any) -> None:
        self.phase = stage.name if stage.name.startswith("unimodal:") else "fusion"
        if self.phase == "fusion" and hasattr(self, "_clock"):
            self._clock["pretrain"] = time.perf_counter() - self._clock["fit_start"]

    # ---------------------------------------------------------------- forward
    def batch_weights(self, batch: Batch) -> torch.Tensor:
        """``(B, M)`` weights of the batch's samples (all 1 before the state exists)."""
        store = self._modules.get("_sample_states")
        if store is None or "weights" not in store.tensors:  # type: ignore[operator]
            return torch.ones(len(batch), len(self.modality_names), device=batch.y.device)
        w = self.sample_state("weights")
        return w[batch.index.to(w.device)].to(batch.y.device)

    def forward(self, batch: Batch) -> MethodOutput:
        if self.phase.startswith("unimodal:"):
            m, fold_name = self.phase[len("unimodal:") :].rsplit(":", 1)
            k = int(fold_name)
            pred = self.shape_prediction(self.teachers[m][k](batch.x[m], batch.mask(m)))
            if self.crossfit == 1:
                return MethodOutput(pred, {"task": self.task_loss(pred, batch.y)})
            keep = (self._folds(batch) != k).to(pred.dtype)  # fold k is held out from model k
            loss = (self.task_loss(pred, batch.y, reduction="none") * keep).sum() / keep.sum().clamp_min(1.0)
            return MethodOutput(pred, {"task": loss})
        w = self.batch_weights(batch)  # (B, M)
        out, feats = self.backbone(batch, w)
        pred = self.shape_prediction(out)
        losses = {"task": self.task_loss(pred, batch.y)}
        diagnostics = {f"weight/{m}": w[:, j] for j, m in enumerate(self.modality_names)}
        store = self._modules.get("_sample_states")
        if store is not None and "kl" in store.tensors:  # type: ignore[operator]
            kl = self.sample_state("kl")[batch.index.to(w.device)]
            diagnostics.update({f"kl/{m}": kl[:, j] for j, m in enumerate(self.modality_names)})
        unimodal: dict[str, torch.Tensor] = {}
        if self.branches:
            unimodal = {m: self.shape_prediction(self.branches[m](feats[m].detach())) for m in self.modality_names}
            losses.update({f"branch/{m}": self.task_loss(u, batch.y) for m, u in unimodal.items()})
        elif self.teachers and not self.training:  # frozen after pre-training; needed at evaluation only
            unimodal = {m: self.teacher_prediction(m, batch) for m in self.modality_names}
        return MethodOutput(pred, losses, diagnostics, unimodal)

    def _folds(self, batch: Batch) -> torch.Tensor:
        store = self._modules.get("_sample_states")
        if store is None or "fold" not in store.tensors:  # type: ignore[operator]
            return torch.full((len(batch),), -1, dtype=torch.long, device=batch.y.device)
        fold = self.sample_state("fold")
        return fold[batch.index.to(fold.device)].to(batch.y.device)

    def teacher_prediction(self, m: str, batch: Batch) -> torch.Tensor:
        """Modality ``m``'s pre-trained prediction: with cross-fitting, a training sample gets the
        model that never saw it, any other sample the mean of the models (probabilities for
        classification, returned as log-probabilities)."""
        models = self.teachers[m]
        outs = torch.stack([self.shape_prediction(t(batch.x[m], batch.mask(m))) for t in models])  # (K, B, ...)
        if len(models) == 1:
            return outs[0]
        if self.spec.task == "classification":
            mean = torch.log(torch.softmax(outs, dim=-1).mean(dim=0).clamp_min(1e-12))
            own = torch.log_softmax(outs, dim=-1)
        else:
            mean, own = outs.mean(dim=0), outs
        fold = self._folds(batch)
        held_out = own[fold.clamp_min(0), torch.arange(len(batch), device=fold.device)]
        mask = (fold >= 0).view(-1, *([1] * (mean.ndim - 1)))
        return torch.where(mask, held_out, mean)

    # ---------------------------------------------------------------- weight updates
    def on_epoch_end(self, epoch: int, trainer: Any) -> None:
        if self.weighting == "uniform" or self.phase != "fusion" or (epoch + 1) % self.update_every:
            return
        self.update_weights(trainer, epoch)

    def _make_estimator(self) -> Any:
        from infofusion.measures.mi import create_estimator

        return create_estimator(self.estimator, **self.estimator_options)

    def instance_kl(self, out: dict[str, Any]) -> torch.Tensor:
        """``(n, M)`` KL of each modality's unimodal prediction from the fused one (labels unused)."""
        unimodal = [torch.as_tensor(out["unimodal"][m], dtype=torch.float64) for m in self.modality_names]
        fused = torch.as_tensor(out["prediction"], dtype=torch.float64)
        if self.spec.task == "classification":
            return instance_divergence(unimodal, fused, "categorical")
        if self.variance == "fixed":
            return instance_divergence(unimodal, fused, "gaussian", self.sigma_unimodal, self.sigma_fused)
        return instance_divergence(unimodal, fused, "gaussian_spread")

    def _mi_representation(self, pred: np.ndarray) -> np.ndarray:
        if self.spec.task == "regression":
            return pred.reshape(-1, 1).astype(np.float64)
        return class_log_ratios(torch.as_tensor(pred, dtype=torch.float64)).numpy()

    def modality_mi(self, out: dict[str, Any]) -> torch.Tensor:
        """``(M,)`` MI (nats) between each modality's unimodal outputs and the fused outputs over
        the split (at most ``mi_max_samples`` of them, a fixed subset); labels unused."""
        n = len(out["prediction"])
        rows = np.sort(np.random.default_rng(0).permutation(n)[: self.mi_max_samples])
        fused = self._mi_representation(np.asarray(out["prediction"])[rows])
        est = self._make_estimator()
        values = []
        for m in self.modality_names:
            uni = self._mi_representation(np.asarray(out["unimodal"][m])[rows])
            if np.ptp(uni, axis=0).max() <= 1e-12 or np.ptp(fused, axis=0).max() <= 1e-12:
                values.append(0.0)  # a constant output carries no information
                continue
            values.append(float(est.estimate(uni, fused).value))
        return torch.tensor(values, dtype=torch.float64)

    def _valid_loss(self, out: dict[str, Any]) -> float:
        """The task loss on the validation split: the only place a label is read."""
        pred = torch.as_tensor(out["prediction"])
        y = torch.as_tensor(out["y"])
        return float(self.task_loss(pred, y if self.spec.task == "classification" else y.to(pred.dtype)))

    @torch.no_grad()
    def update_weights(self, trainer: Any, epoch: int) -> None:
        """One BTW update of every split's weights (see the module docstring)."""
        t0 = time.perf_counter()
        splits = [s for s in ("train", "valid", "test") if s in trainer.data.splits]
        outs = {s: trainer.predict(s) for s in splits}
        log = self.update_log
        factor = log.smoothing
        shared_mi = None
        if self.weighting == "kl_mi" and self.mi_split != "own":
            shared_mi = self.modality_mi(outs[self.mi_split])
        weights, kls = self.sample_state("weights"), self.sample_state("kl")
        row: dict[str, Any] = {"epoch": int(epoch), "smoothing": factor, "mi": {}, "quantiles": {}, "mean": {}}
        for split, out in outs.items():
            kl = self.instance_kl(out)
            mi = None
            if self.weighting == "kl_mi":
                mi = shared_mi if shared_mi is not None else self.modality_mi(out)
                row["mi"][split] = [float(v) for v in mi]
            idx = torch.as_tensor(out["index"], dtype=torch.long).to(weights.device)
            old = weights[idx].double().cpu()
            new, _ = btw_update(old, kl, mi, factor, self.kl_norm, self.direction)
            weights[idx] = new.to(weights.dtype).to(weights.device)
            kls[idx] = kl.to(kls.dtype).to(kls.device)
            q = torch.quantile(new, torch.tensor(QUANTILES, dtype=new.dtype), dim=0)  # (Q, M)
            row["quantiles"][split] = q.T.tolist()
            row["mean"][split] = new.mean(dim=0).tolist()
            row.setdefault("corrupted", {})[split] = self._by_corruption(trainer, out["index"], new)
        if "valid" in outs:
            loss = self._valid_loss(outs["valid"])
            row["valid_loss"] = loss
            log.smoothing = next_smoothing(factor, loss, log.best, self.smoothing_step)
            log.best = min(log.best, loss)
        row["seconds"] = time.perf_counter() - t0
        log.rows.append(row)

    def _by_corruption(self, trainer: Any, index: np.ndarray, weights: torch.Tensor) -> dict[str, list[float | None]] | None:
        """Mean weight of each modality on clean and corrupted samples (None: no such sample),
        where the dataset has that ground truth (``sample_meta["corrupted"]``, one column per dataset modality);
        recorded for the plots, never used by the update."""
        truth = trainer.data.sample_meta.get("corrupted")
        if truth is None:
            return None
        flags = np.asarray(truth)[np.asarray(index)]
        out = {}
        for j, m in enumerate(self.modality_names):
            col = flags[:, list(trainer.data.names).index(m)].astype(bool)
            w = weights[:, j].numpy()
            out[m] = [float(w[~col].mean()) if (~col).any() else None, float(w[col].mean()) if col.any() else None]
        return out

    # ---------------------------------------------------------------- reporting
    def run_info(self) -> dict[str, Any]:
        """Updates made, their seconds, the pre-training seconds (wall clock of this process),
        the last training-split MI, and the mean final weight of each modality on the test
        samples (on clean and corrupted ones where the dataset records corruption)."""
        rows = self._rows()
        info: dict[str, Any] = {"btw_updates": len(rows), "btw_update_seconds": float(sum(r["seconds"] for r in rows))}
        clock = getattr(self, "_clock", {})
        if "pretrain" in clock:
            info["btw_pretrain_seconds"] = float(clock["pretrain"])
        if rows:
            info["btw_smoothing"] = self.update_log.smoothing
            if rows[-1]["mi"].get("train") is not None:
                info["btw_mi_train"] = dict(zip(self.modality_names, rows[-1]["mi"]["train"], strict=True))
        index = getattr(self, "_test_index", None)
        store = self._modules.get("_sample_states")
        if index is not None and store is not None and "weights" in store.tensors:  # type: ignore[operator]
            w = self.sample_state("weights").cpu().numpy()[index]
            info["btw_test_weight"] = {m: float(w[:, j].mean()) for j, m in enumerate(self.modality_names)}
            if getattr(self, "_corrupted", None) is not None:
                flags = self._corrupted[index]
                info["btw_test_weight_clean_corrupted"] = {
                    m: [float(w[~flags[:, j], j].mean()) if (~flags[:, j]).any() else None,
                        float(w[flags[:, j], j].mean()) if flags[:, j].any() else None]
                    for j, m in enumerate(self.modality_names)
                }
        return info

    def save_plots(self, stem: str, result: Any) -> list[str]:
        """``<stem>_weights``: each modality's weight distribution (training split) over the
        updates; ``<stem>_corrupted``: weights on corrupted vs clean test samples, where the
        dataset records which samples are corrupted (``sample_meta["corrupted"]``)."""
        from infofusion.report.btw import corrupted_weights_figure, weight_trajectory_figure
        from infofusion.report.figures import save_figure

        paths: list[str] = []
        if self._rows():
            paths += save_figure(weight_trajectory_figure(self._rows(), self.modality_names), f"{stem}_weights")
        data, test = getattr(result, "data", None), getattr(result, "test_outputs", None)
        if data is not None and test is not None and "corrupted" in data.sample_meta:
            flags = np.asarray(data.sample_meta["corrupted"])[np.asarray(test["index"])]
            cols = [list(data.names).index(m) for m in self.modality_names]
            w = np.stack([test["diagnostics"][f"weight/{m}"] for m in self.modality_names], axis=1)
            fig = corrupted_weights_figure(w, flags[:, cols].astype(bool), self.modality_names, self._rows())
            paths += save_figure(fig, f"{stem}_corrupted")
        return paths


@register("method", "btw-kl")
class BTWKL(BTW):
    """BTW-kl: the paper's ablation, weights from the instance-level KL only."""

    name = "btw-kl"

    def __init__(self, spec: TaskSpec, weighting: str = "kl", **kw: Any) -> None:
        super().__init__(spec, weighting=weighting, **kw)


@register("method", "btw-uniform")
class BTWUniform(BTW):
    """BTW's network with every weight fixed at 1: the control for the weighting."""

    name = "btw-uniform"

    def __init__(self, spec: TaskSpec, weighting: str = "uniform", **kw: Any) -> None:
        super().__init__(spec, weighting=weighting, **kw)
