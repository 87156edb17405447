"""Metric arithmetic of the named protocols, on numpy arrays, by scikit-learn and scipy.

Each ``*_metrics`` function here is one protocol's selection of samples and thresholds (which
labels count, ``>= 0`` or ``> 0``, clipping, bin edges); the metrics themselves are
scikit-learn's (accuracy, precision/recall/F1, average precision, MAE, MSE, R2) and scipy's
(Pearson correlation, softmax). :mod:`infofusion.evaluation.metrics` names the protocols, their
directions and primary metrics, and checks inputs before calling these.

Conventions for degenerate input:

* An undefined Pearson correlation (a constant prediction or target) is 0.0, not NaN, so model
  selection never compares against NaN and a table never shows a NaN for a collapsed model.
* A metric over an empty selection (e.g. the Non0 metrics when every label is 0) is NaN.
* F1, precision and recall of a class never predicted (or never true) count as 0
  (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from infofusion.errors import DataValidationError

__all__ = [
    "NAN",
    "SIMS_EDGES",
    "accuracy",
    "average_precision",
    "classification_metrics",
    "f1_scores",
    "magbert_metrics",
    "mean_average_precision",
    "mmsa_metrics",
    "mult_metrics",
    "pearson",
    "regression_metrics",
    "sims_metrics",
    "softmax",
]

NAN = float("nan")


# ------------------------------------------------------------------------------ building blocks
def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of equal entries (``sklearn.metrics.accuracy_score``); NaN on empty input."""
    from sklearn.metrics import accuracy_score

    if len(y_true) == 0:
        return NAN
    return float(accuracy_score(y_true, y_pred))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation (``scipy.stats.pearsonr``).

    Returns 0.0 when either side is constant (the correlation is undefined there: a model that
    predicts one value carries no linear information about the target), NaN when empty.
    """
    from scipy.stats import pearsonr

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) == 0:
        return NAN
    if np.ptp(a) == 0.0 or np.ptp(b) == 0.0:
        return 0.0
    return float(pearsonr(a, b).statistic)


def _per_class_prf(
    y_true: np.ndarray, y_pred: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support over the labels seen in either array.

    One ``sklearn.metrics.precision_recall_fscore_support(average=None, zero_division=0)``
    call; its ``"macro"`` average is the plain mean of these arrays and its ``"weighted"``
    average the mean weighted by ``support`` (one call instead of one per average: each call
    costs milliseconds of input checking, and the trainer evaluates every epoch).
    """
    from sklearn.metrics import precision_recall_fscore_support

    return precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Macro/weighted F1 and weighted precision/recall over the labels seen in either array.

    scikit-learn's ``average="macro"`` / ``"weighted"`` with ``zero_division=0``: a class
    never predicted has precision 0, a class absent from ``y_true`` weighs 0 in the weighted
    averages but counts in the macro average. NaN for every entry on empty input.
    """
    if len(y_true) == 0:
        return dict.fromkeys(
            ("macro_f1", "weighted_f1", "weighted_precision", "weighted_recall"), NAN
        )
    precision, recall, f1, support = _per_class_prf(y_true, y_pred)
    return {
        "macro_f1": float(np.mean(f1)),
        "weighted_f1": float(np.average(f1, weights=support)),
        "weighted_precision": float(np.average(precision, weights=support)),
        "weighted_recall": float(np.average(recall, weights=support)),
    }


def _weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``f1_score(y_true, y_pred, average="weighted")`` (support of ``y_true``); NaN if empty."""
    if len(y_true) == 0:
        return NAN
    _, _, f1, support = _per_class_prf(y_true, y_pred)
    return float(np.average(f1, weights=support))


def _mae(y_true: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import mean_absolute_error

    return NAN if len(y_true) == 0 else float(mean_absolute_error(y_true, pred))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (``scipy.special.softmax``), ``(N, C) -> (N, C)``."""
    from scipy.special import softmax as _softmax

    return _softmax(np.asarray(logits, dtype=np.float64), axis=1)


def _as_probabilities(scores: np.ndarray) -> np.ndarray:
    # Rows already on the simplex are taken as probabilities; anything else is read as logits.
    # (Softmax of probabilities would change the across-sample ranking AP depends on.)
    s = np.asarray(scores, dtype=np.float64)
    if s.min() >= 0.0 and s.max() <= 1.0 and np.allclose(s.sum(axis=1), 1.0, atol=1e-5):
        return s
    return softmax(s)


def average_precision(y_true_binary: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of one class (``sklearn.metrics.average_precision_score``).

    .. math:: \\mathrm{AP} = \\sum_k (R_k - R_{k-1}) P_k

    over the distinct score thresholds in decreasing order. NaN when there is no positive.
    """
    from sklearn.metrics import average_precision_score

    t = np.asarray(y_true_binary).astype(bool)
    if not t.any():
        return NAN
    return float(average_precision_score(t, np.asarray(scores, dtype=np.float64)))


def mean_average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean over the classes present in ``y_true`` of one-vs-rest AP on ``scores`` ``(N, C)``.

    ``sklearn.metrics.average_precision_score(average=None)`` on the one-hot truth of the
    present classes. A class absent from ``y_true`` has no defined AP and is left out of the
    mean (scikit-learn's ``average="macro"`` would warn and count it). NaN when no class of
    ``scores`` occurs.
    """
    from sklearn.metrics import average_precision_score

    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=np.float64)
    present = np.intersect1d(np.unique(y_true), np.arange(scores.shape[1]))
    if len(present) == 0:
        return NAN
    onehot = y_true[:, None] == present[None, :]  # (N, K)
    if len(present) == 1:  # one column is read as a binary target, not a multilabel one
        return float(average_precision_score(onehot[:, 0], scores[:, present[0]]))
    return float(np.mean(average_precision_score(onehot, scores[:, present], average=None)))


# ------------------------------------------------------------------------------ protocols
def classification_metrics(
    y_true: np.ndarray, prediction: np.ndarray, names: Collection[str] | None = None
) -> dict[str, float]:
    """Accuracy, macro/weighted F1, weighted precision/recall and mAP.

    Args:
        y_true: ``(N,)`` integer class labels.
        prediction: ``(N, C)`` logits or probabilities (rows summing to one are used as is,
            anything else goes through a softmax for mAP), or ``(N,)`` integer hard labels (mAP
            is then omitted). Ties in ``argmax`` go to the lowest class index.
        names: compute only these metrics (None: all). The training loop asks for its
            selection metric alone every epoch; F1 and mAP cost far more than accuracy.
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
    want = None if names is None else set(names)
    out = {"accuracy": accuracy(y_true, y_pred)}
    if want is None or want - {"accuracy", "mAP"}:
        out.update(f1_scores(y_true, y_pred))
    if scores is not None and (want is None or "mAP" in want):
        out["mAP"] = mean_average_precision(y_true, scores)
    return out


def _rounded_acc(y_true: np.ndarray, pred: np.ndarray, bound: float) -> float:
    # Clip both to [-bound, bound], then compare the nearest integers; np.round rounds half to
    # even, as the reference implementations do.
    return accuracy(
        np.round(np.clip(y_true, -bound, bound)), np.round(np.clip(pred, -bound, bound))
    )


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
        "Mult_acc_5": _rounded_acc(y_true, pred, 2.0),
        "Mult_acc_7": _rounded_acc(y_true, pred, 3.0),
        "MAE": _mae(y_true, pred),
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
        "acc_7": _rounded_acc(t, p, 3.0),
        "MAE": _mae(t, p),
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
        "acc_5": _rounded_acc(y_true, pred, 2.0),
        "acc_7": _rounded_acc(y_true, pred, 3.0),
        "MAE": _mae(y_true, pred),
        "Corr": pearson(pred, y_true),
    }


SIMS_EDGES: dict[str, tuple[float, ...]] = {
    "Mult_acc_2": (0.0,),
    "Mult_acc_3": (-0.1, 0.1),
    "Mult_acc_5": (-0.7, -0.1, 0.1, 0.7),
}


def _bin(values: np.ndarray, inner_edges: tuple[float, ...]) -> np.ndarray:
    # Right-closed bins: class i holds (edge_{i-1}, edge_i]; the first class also holds -1.
    return np.digitize(values, inner_edges, right=True)


def sims_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MMSA protocol for CH-SIMS scores in [-1, 1].

    Both sides are clipped to [-1, 1] first (MAE and Corr too). Classes are right-closed bins
    (:data:`SIMS_EDGES`): acc-2 ``[-1, 0] / (0, 1]``; acc-3 edges -0.1, 0.1; acc-5 edges -0.7,
    -0.1, 0.1, 0.7. ``F1`` is the weighted F1 of the acc-2 classes. Values are compared in
    float64 after the cast from the input dtype, so a float32 label ``0.1`` (which is slightly
    above 0.1) falls in the bin above the edge, exactly as in the reference run on float32
    arrays.
    """
    t = np.clip(y_true, -1.0, 1.0)
    p = np.clip(pred, -1.0, 1.0)
    out = {key: accuracy(_bin(t, edges), _bin(p, edges)) for key, edges in SIMS_EDGES.items()}
    edges2 = SIMS_EDGES["Mult_acc_2"]
    out["F1"] = _weighted_f1(_bin(t, edges2), _bin(p, edges2))
    out["MAE"] = _mae(t, p)
    out["Corr"] = pearson(p, t)
    return out


def regression_metrics(y_true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Generic regression: MAE, RMSE, Pearson Corr and R2 (scikit-learn / scipy).

    R2 is ``sklearn.metrics.r2_score``: for a constant target 1.0 for a perfect prediction and
    0.0 otherwise. A single sample is a constant target too (scikit-learn would warn and give
    NaN there).
    """
    from sklearn.metrics import mean_squared_error, r2_score

    if len(y_true) == 0:
        return dict.fromkeys(("MAE", "RMSE", "Corr", "R2"), NAN)
    return {
        "MAE": _mae(y_true, pred),
        "RMSE": float(np.sqrt(mean_squared_error(y_true, pred))),
        "Corr": pearson(pred, y_true),
        "R2": float(r2_score(y_true, pred)) if len(y_true) > 1 else float(y_true[0] == pred[0]),
    }
