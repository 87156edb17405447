"""Metric protocols: pure numpy functions, one named protocol per convention met in the field.

Multimodal sentiment papers compare numbers computed under protocols that differ in small,
result-changing ways (zero labels kept or dropped, ``>= 0`` or ``> 0``, clipping). Each is named
here explicitly and implemented once:

* ``classification`` -- accuracy, macro-F1, weighted-F1, weighted precision/recall, mAP.
* ``mmsa`` -- the MMSA framework's MOSI/MOSEI regression metrics (Has0/Non0 acc-2 and F1,
  acc-5, acc-7, MAE, Corr).
* ``magbert`` -- MAG-BERT / ITHP: zero labels dropped before *every* metric.
* ``mult`` -- MulT: zeros kept, ``> 0`` split.
* ``sims`` -- MMSA's CH-SIMS metrics (clip to [-1, 1], acc-2/3/5 by fixed bin edges).
* ``regression`` -- generic MAE, RMSE, Corr, R2.

All values are fractions in [0, 1] (papers print them x100). An undefined Pearson correlation
(a constant prediction or target) is reported as 0.0 rather than NaN, so model selection never
compares against NaN; a metric over an empty selection (e.g. Non0 metrics when every label is 0)
is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, DataValidationError

__all__ = [
    "HIGHER_IS_BETTER",
    "PROTOCOLS",
    "accuracy",
    "average_precision",
    "classification_metrics",
    "compute_metrics",
    "f1_scores",
    "higher_is_better",
    "magbert_metrics",
    "mean_average_precision",
    "mmsa_metrics",
    "mult_metrics",
    "pearson",
    "per_modality_metrics",
    "primary_metric",
    "regression_metrics",
    "sims_metrics",
    "softmax",
]

PROTOCOLS: dict[str, str] = {
    "classification": "classification",
    "regression": "regression",
    "mmsa": "regression",
    "magbert": "regression",
    "mult": "regression",
    "sims": "regression",
}

# Direction of every metric name produced here (and the trainer's loss). Names not listed are
# treated as higher-is-better by :func:`higher_is_better`.
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "macro_f1": True,
    "weighted_f1": True,
    "weighted_precision": True,
    "weighted_recall": True,
    "mAP": True,
    "Has0_acc_2": True,
    "Has0_F1": True,
    "Non0_acc_2": True,
    "Non0_F1": True,
    "Mult_acc_2": True,
    "Mult_acc_3": True,
    "Mult_acc_5": True,
    "Mult_acc_7": True,
    "acc_2": True,
    "acc_5": True,
    "acc_7": True,
    "F1": True,
    "Corr": True,
    "R2": True,
    "MAE": False,
    "RMSE": False,
    "loss": False,
}

# Model selection: accuracy for classification; MAE for every regression protocol (the
# reference implementations select on a validation L1/L2 loss, and MAE is far less noisy on a
# few hundred validation samples than a thresholded accuracy).
_PRIMARY: dict[str, str] = {
    "classification": "accuracy",
    "regression": "MAE",
    "mmsa": "MAE",
    "magbert": "MAE",
    "mult": "MAE",
    "sims": "MAE",
}


def higher_is_better(name: str) -> bool:
    """Direction of a metric, also for prefixed names such as ``"m1/accuracy"``."""
    return HIGHER_IS_BETTER.get(name.rsplit("/", 1)[-1], True)


def primary_metric(task: str, protocol: str | None = None) -> str:
    """The metric used for model selection under ``protocol`` (default: by task).

    Raises:
        ConfigError: unknown protocol, or a protocol of the other task type.
    """
    proto = _resolve_protocol(task, protocol)
    return _PRIMARY[proto]


def _resolve_protocol(task: str, protocol: str | None) -> str:
    if task not in ("classification", "regression"):
        raise ConfigError(f"task must be 'classification' or 'regression', got {task!r}")
    if protocol is None:
        return task
    if protocol not in PROTOCOLS:
        raise ConfigError(
            f"unknown metric protocol {protocol!r} (available: {', '.join(PROTOCOLS)})"
        )
    if PROTOCOLS[protocol] != task:
        raise ConfigError(
            f"metric protocol {protocol!r} is for {PROTOCOLS[protocol]} tasks, not {task}"
        )
    return protocol


# ------------------------------------------------------------------------------ helpers
def _nan_if_empty(n: int, value: Any) -> float:
    return float("nan") if n == 0 else float(value)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of equal entries (NaN on empty input)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return _nan_if_empty(len(y_true), np.mean(y_true == y_pred) if len(y_true) else 0.0)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; 0.0 when either side is constant (undefined), NaN when empty."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) == 0:
        return float("nan")
    da, db = a - a.mean(), b - b.mean()
    denom = np.sqrt((da * da).sum() * (db * db).sum())
    if denom == 0.0:
        return 0.0
    return float(np.clip((da * db).sum() / denom, -1.0, 1.0))


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Macro/weighted F1 and weighted precision/recall over the labels seen in either array.

    Matches scikit-learn's ``average="macro"`` / ``"weighted"`` with ``zero_division=0``: a
    class never predicted has precision 0, a class absent from ``y_true`` weighs 0 in the
    weighted averages but counts in the macro average.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        nan = float("nan")
        return {
            "macro_f1": nan,
            "weighted_f1": nan,
            "weighted_precision": nan,
            "weighted_recall": nan,
        }
    labels = np.union1d(y_true, y_pred)
    t = y_true[:, None] == labels[None, :]  # (N, K)
    p = y_pred[:, None] == labels[None, :]
    tp = (t & p).sum(0).astype(np.float64)
    support = t.sum(0).astype(np.float64)
    predicted = p.sum(0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denom = support + predicted
        f1 = np.where(denom > 0, 2.0 * tp / denom, 0.0)
    w = support / support.sum()
    return {
        "macro_f1": float(f1.mean()),
        "weighted_f1": float((w * f1).sum()),
        "weighted_precision": float((w * precision).sum()),
        "weighted_recall": float((w * recall).sum()),
    }


def _weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return f1_scores(y_true, y_pred)["weighted_f1"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, ``(N, C) -> (N, C)``."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _as_probabilities(scores: np.ndarray) -> np.ndarray:
    # Rows already on the simplex are taken as probabilities; anything else is read as logits.
    # (Softmax of probabilities would change the across-sample ranking AP depends on.)
    s = np.asarray(scores, dtype=np.float64)
    if s.min() >= 0.0 and s.max() <= 1.0 and np.allclose(s.sum(axis=1), 1.0, atol=1e-5):
        return s
    return softmax(s)


def average_precision(y_true_binary: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of one class (scikit-learn's definition, ties grouped by threshold).

    .. math:: \\mathrm{AP} = \\sum_k (R_k - R_{k-1}) P_k

    over the distinct score thresholds in decreasing order. NaN when there is no positive.
    """
    t = np.asarray(y_true_binary).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos = int(t.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    # last index of each run of equal scores: one threshold per distinct score
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(t)[last].astype(np.float64)
    precision = tps / (last + 1)
    recall = tps / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean over the classes present in ``y_true`` of one-vs-rest AP on ``scores`` ``(N, C)``."""
    y_true = np.asarray(y_true)
    aps = [
        average_precision(y_true == c, scores[:, c])
        for c in range(scores.shape[1])
        if np.any(y_true == c)
    ]
    return float(np.mean(aps)) if aps else float("nan")


# ------------------------------------------------------------------------------ protocols
def classification_metrics(y_true: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """Accuracy, macro/weighted F1, weighted precision/recall and mAP.

    Args:
        y_true: ``(N,)`` integer class labels.
        prediction: ``(N, C)`` logits or probabilities (rows summing to one are used as is,
            anything else goes through a softmax for mAP), or ``(N,)`` integer hard labels (mAP
            is then omitted). Ties in ``argmax`` go to the lowest class index.
    """
    y_true = np.asarray(y_true).astype(np.int64)
    prediction = np.asarray(prediction)
    if prediction.ndim == 1:
        if prediction.dtype.kind not in "iub":
            raise DataValidationError(
                "classification prediction must be (N, C) scores or (N,) integer labels, got "
                f"a 1-d {prediction.dtype} array",
                problem="prediction_shape",
            )
        y_pred = prediction.astype(np.int64)
        scores = None
    else:
        y_pred = prediction.argmax(axis=1)
        scores = _as_probabilities(prediction)
    out = {"accuracy": accuracy(y_true, y_pred)}
    out.update(f1_scores(y_true, y_pred))
    if scores is not None:
        out["mAP"] = mean_average_precision(y_true, scores)
    return out


def _multiclass_acc(pred: np.ndarray, truth: np.ndarray) -> float:
    # np.round rounds half to even, as the reference implementations do.
    return accuracy(np.round(truth), np.round(pred))


def mmsa_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MMSA protocol for MOSI/MOSEI sentiment scores in [-3, 3].

    * ``Has0_acc_2``, ``Has0_F1``: ``pred >= 0`` vs ``truth >= 0`` over all samples.
    * ``Non0_acc_2``, ``Non0_F1``: samples with ``truth == 0`` dropped, then ``> 0``.
    * ``Mult_acc_5`` / ``Mult_acc_7``: both clipped to [-2, 2] / [-3, 3], then
      ``round(pred) == round(truth)`` (half to even).
    * ``MAE``, ``Corr``: over all samples, unclipped.

    F1 is weighted by the support of the true classes.
    """
    keep = y_true != 0
    return {
        "Has0_acc_2": accuracy(y_true >= 0, pred >= 0),
        "Has0_F1": _weighted_f1(y_true >= 0, pred >= 0),
        "Non0_acc_2": accuracy(y_true[keep] > 0, pred[keep] > 0),
        "Non0_F1": _weighted_f1(y_true[keep] > 0, pred[keep] > 0),
        "Mult_acc_5": _multiclass_acc(np.clip(pred, -2, 2), np.clip(y_true, -2, 2)),
        "Mult_acc_7": _multiclass_acc(np.clip(pred, -3, 3), np.clip(y_true, -3, 3)),
        "MAE": _nan_if_empty(len(y_true), np.mean(np.abs(pred - y_true)) if len(y_true) else 0),
        "Corr": pearson(pred, y_true),
    }


def magbert_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MAG-BERT / ITHP protocol: zero labels dropped before every metric.

    On the remaining samples: ``acc_2`` and weighted ``F1`` of ``pred >= 0`` vs
    ``truth >= 0``, ``MAE``, ``Corr``, and (computed the same way on the same samples)
    ``acc_7`` after clipping both to [-3, 3].
    """
    keep = y_true != 0
    t, p = y_true[keep], pred[keep]
    return {
        "acc_2": accuracy(t >= 0, p >= 0),
        "F1": _weighted_f1(t >= 0, p >= 0),
        "acc_7": _multiclass_acc(np.clip(p, -3, 3), np.clip(t, -3, 3)),
        "MAE": _nan_if_empty(len(t), np.mean(np.abs(p - t)) if len(t) else 0),
        "Corr": pearson(p, t),
    }


def mult_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MulT protocol: zeros kept, binary split ``> 0`` (non-positive vs positive).

    ``acc_2`` compares ``pred > 0`` with ``truth > 0``. ``F1`` reproduces the reference call
    ``f1_score(pred > 0, truth > 0, average="weighted")``: the arguments are swapped there, so
    the per-class F1 values are weighted by the support of the *predicted* classes. ``acc_5``,
    ``acc_7``, ``MAE``, ``Corr`` as in :func:`mmsa_metrics`.
    """
    return {
        "acc_2": accuracy(y_true > 0, pred > 0),
        "F1": _weighted_f1(pred > 0, y_true > 0),
        "acc_5": _multiclass_acc(np.clip(pred, -2, 2), np.clip(y_true, -2, 2)),
        "acc_7": _multiclass_acc(np.clip(pred, -3, 3), np.clip(y_true, -3, 3)),
        "MAE": _nan_if_empty(len(y_true), np.mean(np.abs(pred - y_true)) if len(y_true) else 0),
        "Corr": pearson(pred, y_true),
    }


def _bin(values: np.ndarray, inner_edges: tuple[float, ...]) -> np.ndarray:
    # Right-closed bins: class i holds (edge_{i-1}, edge_i]; the first class also holds -1.
    return np.searchsorted(np.asarray(inner_edges), values, side="left")


def sims_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MMSA protocol for CH-SIMS scores in [-1, 1].

    Both sides are clipped to [-1, 1] first (MAE and Corr too). Classes are right-closed bins:
    acc-2 ``[-1, 0] / (0, 1]``; acc-3 edges -0.1, 0.1; acc-5 edges -0.7, -0.1, 0.1, 0.7.
    ``F1`` is the weighted F1 of the acc-2 classes. Values are compared in float64 after the
    cast from the input dtype, so a float32 label ``0.1`` (which is slightly above 0.1) falls
    in the bin above the edge, exactly as in the reference run on float32 arrays.
    """
    t = np.clip(y_true, -1.0, 1.0)
    p = np.clip(pred, -1.0, 1.0)
    t2, p2 = _bin(t, (0.0,)), _bin(p, (0.0,))
    return {
        "Mult_acc_2": accuracy(t2, p2),
        "Mult_acc_3": accuracy(_bin(t, (-0.1, 0.1)), _bin(p, (-0.1, 0.1))),
        "Mult_acc_5": accuracy(_bin(t, (-0.7, -0.1, 0.1, 0.7)), _bin(p, (-0.7, -0.1, 0.1, 0.7))),
        "F1": _weighted_f1(t2, p2),
        "MAE": _nan_if_empty(len(t), np.mean(np.abs(p - t)) if len(t) else 0),
        "Corr": pearson(p, t),
    }


def regression_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Generic regression: MAE, RMSE, Pearson Corr and R2 (``1 - SS_res / SS_tot``).

    R2 of a constant target is 1.0 for a perfect prediction and 0.0 otherwise (as in
    scikit-learn).
    """
    if len(y_true) == 0:
        nan = float("nan")
        return {"MAE": nan, "RMSE": nan, "Corr": nan, "R2": nan}
    err = pred - y_true
    ss_res = float(np.sum(err * err))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot == 0.0:
        r2 = 1.0 if ss_res == 0.0 else 0.0
    else:
        r2 = 1.0 - ss_res / ss_tot
    return {
        "MAE": float(np.mean(np.abs(err))),
        "RMSE": float(np.sqrt(np.mean(err * err))),
        "Corr": pearson(pred, y_true),
        "R2": r2,
    }


_REGRESSION = {
    "regression": regression_metrics,
    "mmsa": mmsa_metrics,
    "magbert": magbert_metrics,
    "mult": mult_metrics,
    "sims": sims_metrics,
}


# ------------------------------------------------------------------------------ entry points
def compute_metrics(
    y_true: Any,
    prediction: Any,
    task: str,
    protocol: str | None = None,
    n_classes: int | None = None,
) -> dict[str, float]:
    """All metrics of one protocol.

    Args:
        y_true: ``(N,)`` class labels (classification) or scores (regression).
        prediction: ``(N, C)`` logits/probabilities for classification; ``(N,)`` (or
            ``(N, 1)``) scores for regression.
        task: ``"classification"`` or ``"regression"``.
        protocol: one of :data:`PROTOCOLS` (default: ``"classification"`` / ``"regression"``).
        n_classes: expected number of columns of a classification prediction (checked if given).

    Returns:
        metric name -> float.

    Raises:
        ConfigError: unknown protocol or a protocol for the other task.
        DataValidationError: the shapes of ``y_true`` and ``prediction`` do not match.

    Example:
        >>> compute_metrics([1, -2, 0.5], [0.8, -1.0, -0.2], "regression", "mult")["acc_2"]
        0.6666666666666666
    """
    proto = _resolve_protocol(task, protocol)
    y = np.asarray(y_true)
    pred = np.asarray(prediction)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataValidationError(f"y_true must be (N,), got shape {y.shape}", problem="shape")
    if pred.shape[:1] != y.shape:
        raise DataValidationError(
            f"prediction has {pred.shape[0] if pred.ndim else 0} rows but y_true has {len(y)}",
            problem="count_mismatch",
        )
    if proto == "classification":
        if pred.ndim == 2 and n_classes is not None and pred.shape[1] != n_classes:
            raise DataValidationError(
                f"prediction has {pred.shape[1]} columns, expected n_classes={n_classes}",
                problem="prediction_shape",
            )
        if pred.ndim not in (1, 2):
            raise DataValidationError(
                f"classification prediction must be (N, C), got shape {pred.shape}",
                problem="prediction_shape",
            )
        return classification_metrics(y, pred)
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.ndim != 1:
        raise DataValidationError(
            f"regression prediction must be (N,) scores, got shape {pred.shape}",
            problem="prediction_shape",
        )
    return _REGRESSION[proto](y.astype(np.float64), pred.astype(np.float64))


def per_modality_metrics(
    y_true: Any,
    predictions: Mapping[str, Any],
    task: str,
    protocol: str | None = None,
    n_classes: int | None = None,
) -> dict[str, float]:
    """Metrics of each unimodal branch, keyed ``"<modality>/<metric>"`` (``"m1/accuracy"``).

    Args:
        y_true: ``(N,)`` targets.
        predictions: modality name -> that branch's prediction, same layout as for
            :func:`compute_metrics`.
        task, protocol, n_classes: as for :func:`compute_metrics`.
    """
    out: dict[str, float] = {}
    for name, pred in predictions.items():
        for key, value in compute_metrics(y_true, pred, task, protocol, n_classes).items():
            out[f"{name}/{key}"] = value
    return out
