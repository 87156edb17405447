"""Batch neural PID estimator for large continuous datasets.

Three small torch classifiers -- ``p(y|x1)``, ``p(y|x2)``, ``p(y|x1, x2)`` -- are trained on
minibatches of the training split. On held-out minibatches of ``B`` samples, each sample's
source is treated as its own outcome, giving a ``B x B x C`` problem: the fiber is fixed by the
unimodal predictions ``P(x1_i, y) = p(y|x1_i) / B`` and ``P(x2_j, y) = p(y|x2_j) / B`` (both
rescaled to a common label marginal by proportional fitting), and the exact BROJA solver gives
the union information ``min_Q I_Q(X1, X2; Y)``. The joint classifier supplies
``I(X1, X2; Y)``; the atoms follow from the consistency equations and are averaged over
batches (their spread is reported).

Limits: the estimate depends on the classifiers' calibration; a joint model that is *less*
informative than the fiber's optimum yields a negative synergy (reported, not clipped); the
batch size ``B`` bounds how finely ``Q`` can couple the two sources.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, EstimationError
from infofusion.measures.classifiers import modality_features, predict_proba, train_classifier
from infofusion.measures.pid._info import LN2
from infofusion.measures.pid.estimate import AtomEstimate, PIDEstimate
from infofusion.measures.pid.estimators import PIDEstimator
from infofusion.measures.pid.solver import solve_broja
from infofusion.registry import register


def _entropy_rows(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-300, None)
    return -(p * np.log(q)).sum(axis=1)


def _rake(p: np.ndarray, col: np.ndarray, iters: int = 100, floor: float = 1e-12) -> np.ndarray:
    """Rescale ``(B, C)`` conditionals so rows sum to 1/B and columns to ``col``."""
    t = np.clip(p, floor, None) / p.shape[0]
    t = t / t.sum(axis=1, keepdims=True) / p.shape[0]
    for _ in range(iters):
        t = t * (col / t.sum(axis=0))[None, :]
        t = t / t.sum(axis=1, keepdims=True) / p.shape[0]
        if np.abs(t.sum(axis=0) - col).max() < 1e-13:
            break
    return t


def atom_interval(value: float, se: float, n: int, z: float = 1.959963984540054) -> tuple[float, float, bool]:
    """``(lo, hi, one_sided)`` of an atom from its mean and standard error over batches.

    An interval that straddles 0 is reported one-sided, ``[0, max(hi, 1/n)]`` (atoms are not
    negative); one wholly below 0 is kept as it is, so it still contains the estimate (the
    caller warns that the profile is unreliable); otherwise ``value +- z se``.
    """
    lo, hi = value - z * se, value + z * se
    if lo <= 0.0 <= hi:
        return 0.0, max(hi, 1.0 / n), True
    return lo, hi, False


@register("pid_estimator", "batch")
class BatchNeuralPID(PIDEstimator):
    """Batch neural estimator: minibatch-trained classifiers + exact BROJA on held-out batches.

    Args:
        hidden, epochs, batch_size, lr: the classifiers (two hidden layers, early-stopped on
            validation cross-entropy through the shared auxiliary loop).
        eval_batch: ``B``, the samples of one held-out batch (the problem is ``B x B x C``).
        n_eval_batches: held-out batches averaged.
        eval_split: split the batches are drawn from (default ``test``, else ``valid``); the
            training split is refused (in-sample probabilities are over-confident).
        seed, device: as usual.
    """

    name = "batch"

    def __init__(
        self,
        hidden: int = 128,
        epochs: int = 30,
        batch_size: int = 256,
        lr: float = 1e-3,
        eval_batch: int = 64,
        n_eval_batches: int = 20,
        eval_split: str | None = None,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        for key, val, low in (("hidden", hidden, 1), ("epochs", epochs, 1), ("batch_size", batch_size, 1),
                              ("eval_batch", eval_batch, 2), ("n_eval_batches", n_eval_batches, 1),
                              ("seed", seed, 0)):
            if isinstance(val, bool) or not isinstance(val, int) or val < low:
                raise ConfigError(f"batch: {key} must be an integer >= {low}, got {val!r}")
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not (np.isfinite(lr) and lr > 0):
            raise ConfigError(f"batch: lr must be a positive number, got {lr!r}")
        if eval_split == "train":
            raise ConfigError("batch: eval_split must be a held-out split (test or valid), not 'train'")
        self.hidden, self.epochs, self.batch_size, self.lr = hidden, epochs, batch_size, float(lr)
        self.eval_batch, self.n_eval_batches = eval_batch, n_eval_batches
        self.eval_split, self.seed, self.device = eval_split, seed, device

    def _train(self, x, y, xv, yv, n_classes):
        return train_classifier(
            x, y, xv, yv, n_classes, hidden=self.hidden, epochs=self.epochs,
            batch_size=self.batch_size, lr=self.lr, seed=self.seed, device=self.device,
        )

    def estimate(self, dataset: Any, modalities: tuple[str, str] | None = None) -> PIDEstimate:
        """Atoms (bits) of a classification dataset, averaged over held-out batches.

        The interval of each atom is the mean +- z times its standard error over the batches
        (it does not include the classifiers' own error). ``extra`` holds ``I1, I2, I12``, the
        per-batch spread, ``max_gap`` (largest certified solver gap, bits) and the parameters.
        """
        start = time.perf_counter()
        if dataset.task != "classification":
            raise ConfigError("the batch neural PID estimator needs a classification target")
        names = self.pair(dataset, modalities)
        splits = dataset.splits
        eval_split = self.eval_split or next((s for s in ("test", "valid") if s in splits), None)
        if eval_split is None:
            raise ConfigError(
                "the batch neural PID estimator needs a held-out split (test or valid); the "
                f"dataset has {', '.join(splits)}"
            )
        tr = splits["train"].numpy()
        va = splits["valid"].numpy() if "valid" in splits and eval_split != "valid" else None
        ev = dataset.indices(eval_split).numpy()
        y = dataset.target.numpy()
        c = dataset.n_classes
        feats = [modality_features(dataset, m) for m in names]
        mean = [f[tr].mean(0) for f in feats]
        std = [np.where(f[tr].std(0) > 1e-8, f[tr].std(0), 1.0) for f in feats]
        feats = [(f - m) / s for f, m, s in zip(feats, mean, std, strict=True)]
        inputs = [feats[0], feats[1], np.concatenate(feats, axis=1)]
        probs = []
        for x in inputs:
            model = self._train(
                x[tr], y[tr], None if va is None else x[va], None if va is None else y[va], c
            )
            probs.append(predict_proba(model, x[ev], self.device))
        rng = np.random.default_rng(self.seed)
        b = min(self.eval_batch, len(ev))
        if b < 2:
            raise EstimationError("the evaluation split has fewer than 2 samples")
        rows = []
        gaps = []
        for _ in range(self.n_eval_batches):
            idx = rng.choice(len(ev), b, replace=False)
            p1, p2, p12 = (p[idx] for p in probs)
            pi = 0.5 * (p1.mean(0) + p2.mean(0))
            for floor in (1e-12, 1e-4):
                t1, t2 = _rake(p1, pi, floor=floor), _rake(p2, pi, floor=floor)  # (B, C) tables
                joint = t1[:, None, :] * t2[None, :, :] / pi[None, None, :]
                sol = solve_broja(joint / joint.sum(), warn=False, progress=False)
                # near-one-hot predictions make the fiber badly scaled; flooring them at 1e-4
                # (a change of ~1e-3 bits) restores a tight certificate
                if sol.gap <= 1e-6:
                    break
            hy = float(-(pi * np.log(pi)).sum())
            h1 = float((b * t1 * -np.log(np.clip(b * t1, 1e-300, None))).sum() / b)
            h2 = float((b * t2 * -np.log(np.clip(b * t2, 1e-300, None))).sum() / b)
            h12 = float(_entropy_rows(p12).mean())
            i1, i2, i12 = hy - h1, hy - h2, hy - h12
            u1 = h2 + sol.value
            u2 = h1 + sol.value
            r = i1 - u1
            s = i12 - r - u1 - u2
            rows.append(np.array([r, u1, u2, s, i1, i2, i12]) / LN2)
            gaps.append(sol.gap / LN2)
        arr = np.array(rows)
        keys = ("R", "U1", "U2", "S", "I1", "I2", "I12")
        mean = arr.mean(axis=0)
        std = arr.std(axis=0, ddof=1) if len(arr) > 1 else np.zeros(arr.shape[1])
        se = std / np.sqrt(len(arr))
        z = 1.959963984540054
        atoms = {}
        warnings: list[str] = []
        for i, k in enumerate(keys[:4]):
            lo, hi, one_sided = atom_interval(float(mean[i]), float(se[i]), len(ev), z)
            if hi < 0.0:
                # an atom is never negative: a whole interval below 0 means the three classifiers
                # disagree (e.g. the joint one under-fits, so I(X1,X2;Y) < I(Xk;Y)); keep the raw
                # interval, which contains the estimate, and say so
                warnings.append(
                    f"{k} = {mean[i]:.3f} bits with its interval [{lo:.3f}, {hi:.3f}] below 0: the "
                    f"classifiers behind the estimate disagree (I(X1;Y) = {mean[4]:.3f}, I(X2;Y) = "
                    f"{mean[5]:.3f}, I(X1,X2;Y) = {mean[6]:.3f} bits); this profile is unreliable"
                )
            atoms[k] = AtomEstimate(
                value=float(mean[i]), plugin=float(mean[i]), null_mean=float("nan"),
                null_q95=float("nan"), ci=(float(lo), float(hi)), stderr=float(se[i]), one_sided=one_sided,
            )
        extra = {
            "estimator": self.name, "modalities": list(names), "eval_split": eval_split,
            "n_batches": len(rows), "batch": b, "max_gap": float(max(gaps)),
            "std_over_batches": {k: float(std[i]) for i, k in enumerate(keys[:4])},
            "warnings": warnings,
            **{k: float(mean[i]) for i, k in enumerate(keys[4:], start=4)},
            "params": self.parameters(),
        }
        return PIDEstimate(
            atoms=atoms, plugin=None, n=len(ev), shape=(b, b, c), measure="broja", n_boot=0,
            n_perm=0, ci_level=0.95, seed=self.seed, seconds=time.perf_counter() - start,
            correction="none", extra=extra,
        )
