"""Per-sample interaction composition: pointwise R, U1, U2, S from probabilistic classifiers.

For a held-out sample ``(x1, x2, y)`` the pointwise mutual informations

.. math::

    i_1 = \\log_2 \\frac{p(y|x_1)}{p(y)}, \\quad i_2 = \\log_2 \\frac{p(y|x_2)}{p(y)}, \\quad
    i_{12} = \\log_2 \\frac{p(y|x_1, x_2)}{p(y)}

come from a unimodal classifier per modality and a joint classifier (trained on the training
split). The pointwise redundancy rule is the pointwise minimum-MI rule ``r = min(i1, i2)``; the
other atoms follow per sample from the same consistency equations as the dataset-level PID:
``u1 = i1 - r``, ``u2 = i2 - r``, ``s = i12 - r - u1 - u2 = i12 - max(i1, i2)``. So per sample
``r + u1 = i1``, ``r + u2 = i2`` and the four atoms sum to ``i12``; averaged over the held-out
samples, ``mean(r + u1)``, ``mean(r + u2)`` and ``mean(sum)`` are the cross-entropy estimates
of I(X1;Y), I(X2;Y) and I(X1,X2;Y). Only the split of the shared part between R and S is
rule-dependent; ``calibrate`` shifts ``r`` (and with it ``s``) by one constant so that the
average redundancy equals a given dataset-level R, keeping every per-sample identity.

Limits: pointwise terms can be negative (a misleading modality, ``i < 0``), and ``s < 0`` means
the joint model is *less* sure of the label than the better unimodal one on that sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, EstimationError
from infofusion.measures.classifiers import modality_features, predict_proba, train_classifier

ATOM_TYPES = ("redundancy", "uniqueness1", "uniqueness2", "synergy")


@dataclass
class PointwiseResult:
    """Per-sample atoms (bits) and their summaries.

    Attributes:
        r, u1, u2, s: ``(N,)`` per-sample atoms.
        i1, i2, i12: ``(N,)`` pointwise mutual informations.
        index: ``(N,)`` dataset positions of the samples.
        dominant: ``(N,)`` name of the largest atom per sample (``ATOM_TYPES``).
        agreement: share of samples whose dominant atom equals the ground-truth type (None when
            no ground truth), with per-type rates in ``extra["agreement_by_type"]``.
        calibration_shift: the constant added to ``r`` (0 without calibration).
    """

    r: np.ndarray
    u1: np.ndarray
    u2: np.ndarray
    s: np.ndarray
    i1: np.ndarray
    i2: np.ndarray
    i12: np.ndarray
    index: np.ndarray
    dominant: np.ndarray
    agreement: float | None = None
    calibration_shift: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def atoms(self) -> np.ndarray:
        """``(N, 4)`` array with columns R, U1, U2, S."""
        return np.stack([self.r, self.u1, self.u2, self.s], axis=1)

    def means(self) -> dict[str, float]:
        """Dataset averages of the per-sample atoms and pointwise MIs (bits)."""
        return {
            "R": float(self.r.mean()),
            "U1": float(self.u1.mean()),
            "U2": float(self.u2.mean()),
            "S": float(self.s.mean()),
            "I1": float(self.i1.mean()),
            "I2": float(self.i2.mean()),
            "I12": float(self.i12.mean()),
        }

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (means, dominant-type shares, agreement)."""
        shares = {t: float(np.mean(self.dominant == t)) for t in ATOM_TYPES}
        return {
            "means": self.means(),
            "dominant_share": shares,
            "agreement": self.agreement,
            "calibration_shift": self.calibration_shift,
            **self.extra,
        }


def pointwise_atoms(
    p1: np.ndarray,
    p2: np.ndarray,
    p12: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    *,
    index: np.ndarray | None = None,
    truth: np.ndarray | None = None,
    calibrate: float | None = None,
    eps: float = 1e-12,
) -> PointwiseResult:
    """Per-sample atoms from class probabilities.

    Args:
        p1, p2, p12: ``(N, C)`` predicted class probabilities of the X1, X2 and joint models.
        y: ``(N,)`` integer labels.
        prior: ``(C,)`` class prior p(y) (from the training labels).
        index: ``(N,)`` dataset positions (default ``arange(N)``).
        truth: ``(N,)`` ground-truth interaction type per sample (strings), optional.
        calibrate: a dataset-level redundancy (bits); shifts ``r`` so ``mean(r)`` equals it.
        eps: floor on probabilities.

    Returns:
        :class:`PointwiseResult`.
    """
    y = np.asarray(y).astype(np.int64)
    n = len(y)
    for name, p in (("p1", p1), ("p2", p2), ("p12", p12)):
        if np.asarray(p).shape[0] != n or np.asarray(p).ndim != 2:
            raise EstimationError(f"{name} must be (N, C) with N = {n}, got {np.shape(p)}")
    rows = np.arange(n)
    lp = np.log2(np.maximum(np.asarray(prior, dtype=np.float64)[y], eps))

    def pmi(p: np.ndarray) -> np.ndarray:
        return np.log2(np.maximum(np.asarray(p, dtype=np.float64)[rows, y], eps)) - lp

    i1, i2, i12 = pmi(p1), pmi(p2), pmi(p12)
    r = np.minimum(i1, i2)
    shift = 0.0
    if calibrate is not None:
        shift = float(calibrate) - float(r.mean())
        r = r + shift
    u1 = i1 - r
    u2 = i2 - r
    s = i12 - r - u1 - u2
    stacked = np.stack([r, u1, u2, s], axis=1)
    dominant = np.array(ATOM_TYPES, dtype=object)[np.argmax(stacked, axis=1)].astype(str)
    res = PointwiseResult(
        r=r, u1=u1, u2=u2, s=s, i1=i1, i2=i2, i12=i12,
        index=np.arange(n) if index is None else np.asarray(index), dominant=dominant,
        calibration_shift=shift,
    )
    if truth is not None:
        res.agreement, res.extra["agreement_by_type"] = agreement_rate(dominant, truth)
    return res


def agreement_rate(dominant: np.ndarray, truth: np.ndarray) -> tuple[float, dict[str, float]]:
    """Share of samples whose dominant atom matches the ground-truth type, overall and per type.

    Ground-truth names are those of ``sample_meta["interaction"]`` (``"redundancy"``,
    ``"uniqueness1"``, ``"uniqueness2"``, ``"synergy"``); samples of other types (e.g.
    ``"uniqueness3"`` in three-modality data) are left out.
    """
    truth = np.asarray(truth).astype(str)
    keep = np.isin(truth, ATOM_TYPES)
    if not keep.any():
        raise EstimationError("no sample has a two-source interaction type to compare with")
    hit = np.asarray(dominant)[keep] == truth[keep]
    by_type = {
        t: float(hit[truth[keep] == t].mean()) for t in ATOM_TYPES if (truth[keep] == t).any()
    }
    return float(hit.mean()), by_type


def _fit_predict(
    model: str, x: np.ndarray, y: np.ndarray, tr: np.ndarray, va: np.ndarray, ev: np.ndarray,
    n_classes: int, seed: int,
) -> np.ndarray:
    """Train on ``tr`` (selecting on ``va``) and return ``(len(ev), C)`` probabilities."""
    mean = x[tr].mean(axis=0)
    std = x[tr].std(axis=0)
    x = (x - mean) / np.where(std > 1e-8, std, 1.0)
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(max_iter=1000).fit(x[tr], y[tr])
        out = np.zeros((len(ev), n_classes))
        out[:, clf.classes_] = clf.predict_proba(x[ev])
        return out
    if model != "mlp":
        raise ConfigError(f"model must be 'mlp' or 'logistic', got {model!r}")
    net = train_classifier(x[tr], y[tr], x[va], y[va], n_classes, hidden=64, epochs=200,
                           batch_size=128, seed=seed, patience=10)
    return predict_proba(net, x[ev])


def pointwise_composition(
    dataset: Any,
    modalities: tuple[str, str] | None = None,
    *,
    model: str = "mlp",
    eval_split: str | None = None,
    calibrate: float | None = None,
    seed: int = 0,
    target_bins: int = 5,
) -> PointwiseResult:
    """Per-sample composition of a two-modality dataset from trained classifiers.

    Classifiers (small torch MLPs selected on validation cross-entropy by default, or
    scikit-learn logistic regression) for ``p(y|x1)``, ``p(y|x2)`` and ``p(y|x1, x2)`` are
    trained on the ``train`` split (selection on ``valid``, or on 15% of train) and scored on
    ``eval_split`` (default ``test``, else ``valid``; never ``train``: in-sample probabilities
    are over-confident). A regression target is cut into ``target_bins`` quantile bins first.

    Args:
        dataset: a :class:`~infofusion.data.MultimodalDataset`.
        modalities: the two modalities to use (default the first two).
        model: ``"mlp"`` or ``"logistic"``.
        eval_split: the held-out split to score (``test`` or ``valid``).
        calibrate: optional dataset-level redundancy (bits) to match on average.
        seed: classifier seed.
        target_bins: quantile bins for a regression target.

    Returns:
        :class:`PointwiseResult`; agreement is filled when ``dataset.sample_meta`` has
        ``"interaction"``.
    """
    from infofusion.measures.pid.discretize import discretize_target

    names = tuple(modalities or dataset.names[:2])
    if len(names) != 2:
        raise ConfigError(f"pointwise composition needs two modalities, got {names}")
    y_all, _ = discretize_target(dataset.target.numpy(), bins=target_bins)
    n_classes = int(y_all.max()) + 1
    splits = dataset.splits
    if eval_split is None:
        eval_split = next((s for s in ("test", "valid") if s in splits), None)
    if eval_split in (None, "train"):
        raise ConfigError(
            "the per-sample composition scores held-out samples only: the dataset needs a "
            f"'test' or 'valid' split (it has {', '.join(splits)})"
        )
    tr = splits["train"].numpy()
    ev = dataset.indices(eval_split).numpy()
    if "valid" in splits and eval_split != "valid":
        va = splits["valid"].numpy()
    else:  # carve a validation slice out of train for model selection
        perm = np.random.default_rng(seed).permutation(tr)
        cut = max(1, int(0.15 * len(perm)))
        va, tr = perm[:cut], perm[cut:]
    x1, x2 = (modality_features(dataset, m) for m in names)
    x12 = np.concatenate([x1, x2], axis=1)
    probs = [_fit_predict(model, x, y_all, tr, va, ev, n_classes, seed) for x in (x1, x2, x12)]
    prior = np.bincount(y_all[tr], minlength=n_classes) / len(tr)
    truth = dataset.sample_meta.get("interaction")
    res = pointwise_atoms(
        probs[0], probs[1], probs[2], y_all[ev], prior, index=ev,
        truth=None if truth is None else np.asarray(truth)[ev], calibrate=calibrate,
    )
    res.extra.update(
        {"modalities": list(names), "model": model, "eval_split": eval_split,
         "in_sample": eval_split == "train", "n_eval": len(ev)}
    )
    return res
