"""Metric protocols: the field's named conventions, one :class:`MetricProtocol` each.

Multimodal sentiment papers compare numbers computed under protocols that differ in small,
result-changing ways (zero labels kept or dropped, ``>= 0`` or ``> 0``, clipping). Each is named
here once, with its metrics, which way each is better and the metric that selects models; the
arithmetic is scikit-learn's and scipy's (:mod:`infofusion.functional.metrics`):

* ``classification`` -- accuracy, macro-F1, weighted-F1, weighted precision/recall, mAP.
* ``mmsa`` -- the MMSA framework's MOSI/MOSEI regression metrics (Has0/Non0 acc-2 and F1,
  acc-5, acc-7, MAE, Corr).
* ``magbert`` -- MAG-BERT / ITHP: zero labels dropped before *every* metric.
* ``mult`` -- MulT: zeros kept, ``> 0`` split.
* ``sims`` -- MMSA's CH-SIMS metrics (clip to [-1, 1], acc-2/3/5 by fixed bin edges).
* ``regression`` -- generic MAE, RMSE, Corr, R2.

All values are fractions in [0, 1] (papers print them x100). An undefined Pearson correlation
(constant prediction or target) is 0.0; a metric over an empty selection is NaN; a prediction
holding NaN or inf (a diverged model) gives NaN for every metric of the protocol. An unknown
protocol or metric name is a :class:`ConfigError` naming it and the allowed ones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, DataValidationError
from infofusion.functional.metrics import (
    NAN,
    accuracy,
    average_precision,
    classification_metrics,
    f1_scores,
    magbert_metrics,
    mean_average_precision,
    mmsa_metrics,
    mult_metrics,
    pearson,
    regression_metrics,
    sims_metrics,
    softmax,
)

__all__ = [
    "ENGINE_METRICS",
    "HIGHER_IS_BETTER",
    "METRIC_PROTOCOLS",
    "PROTOCOLS",
    "MetricProtocol",
    "accuracy",
    "average_precision",
    "classification_metrics",
    "compute_metrics",
    "f1_scores",
    "get_protocol",
    "higher_is_better",
    "magbert_metrics",
    "mean_average_precision",
    "mmsa_metrics",
    "mult_metrics",
    "pearson",
    "per_modality_metrics",
    "primary_metric",
    "regression_metrics",
    "resolve_protocol",
    "sims_metrics",
    "softmax",
]


# ------------------------------------------------------------------------------ the protocols
@dataclass(frozen=True)
class MetricProtocol:
    """One named metric convention.

    Attributes:
        name: the protocol's name (``info["protocol"]`` of a dataset, ``--protocol``).
        task: ``"classification"`` or ``"regression"``.
        metrics: the metric names :attr:`compute` returns, in that order (a classification
            prediction given as hard labels has no ``mAP``).
        lower_is_better: the metrics for which smaller is better; every other one is
            higher-is-better.
        primary: the metric that selects models on the validation split.
        compute: ``(y_true (N,), prediction) -> {metric: float}`` on validated float64/int
            arrays (use :func:`compute_metrics`, which checks shapes first).
        summary: one line on what sets the protocol apart.
    """

    name: str
    task: str
    metrics: tuple[str, ...]
    lower_is_better: frozenset[str]
    primary: str
    compute: Callable[[np.ndarray, np.ndarray], dict[str, float]]
    summary: str = ""

    def __post_init__(self) -> None:
        if self.primary not in self.metrics:
            raise ConfigError(
                f"protocol {self.name!r}: primary metric {self.primary!r} is not one of its metrics"
            )
        extra = sorted(self.lower_is_better - set(self.metrics))
        if extra:
            raise ConfigError(
                f"protocol {self.name!r}: lower_is_better names unknown metrics {extra}"
            )

    def higher_is_better(self, metric: str) -> bool:
        """Direction of ``metric`` (also prefixed, ``"m1/accuracy"``) under this protocol.

        The engine's own metrics (:data:`ENGINE_METRICS`) are accepted too.

        Raises:
            ConfigError: ``metric`` is neither a metric of this protocol nor an engine metric;
                the message names it and lists the allowed names.
        """
        base = metric.rsplit("/", 1)[-1]
        if base in self.metrics:
            return base not in self.lower_is_better
        if base in ENGINE_METRICS:
            return ENGINE_METRICS[base]
        allowed = ", ".join([*self.metrics, *ENGINE_METRICS])
        raise ConfigError(
            f"unknown metric {metric!r} for the {self.name!r} protocol (allowed: {allowed})"
        )


# Model selection: accuracy for classification; MAE for every regression protocol (the
# reference implementations select on a validation L1/L2 loss, and MAE is far less noisy on a
# few hundred validation samples than a thresholded accuracy).
METRIC_PROTOCOLS: dict[str, MetricProtocol] = {
    p.name: p
    for p in (
        MetricProtocol(
            name="classification",
            task="classification",
            metrics=(
                "accuracy", "macro_f1", "weighted_f1", "weighted_precision", "weighted_recall",
                "mAP",
            ),
            lower_is_better=frozenset(),
            primary="accuracy",
            compute=classification_metrics,
            summary="top-1 accuracy, macro/weighted F1, weighted precision/recall, mAP",
        ),
        MetricProtocol(
            name="regression",
            task="regression",
            metrics=("MAE", "RMSE", "Corr", "R2"),
            lower_is_better=frozenset({"MAE", "RMSE"}),
            primary="MAE",
            compute=regression_metrics,
            summary="generic regression over all samples",
        ),
        MetricProtocol(
            name="mmsa",
            task="regression",
            metrics=(
                "Has0_acc_2", "Has0_F1", "Non0_acc_2", "Non0_F1", "Mult_acc_5", "Mult_acc_7",
                "MAE", "Corr",
            ),
            lower_is_better=frozenset({"MAE"}),
            primary="MAE",
            compute=mmsa_metrics,
            summary="MOSI/MOSEI: Has0 (>= 0, all samples) and Non0 (zeros dropped, > 0) splits",
        ),
        MetricProtocol(
            name="magbert",
            task="regression",
            metrics=("acc_2", "F1", "acc_7", "MAE", "Corr"),
            lower_is_better=frozenset({"MAE"}),
            primary="MAE",
            compute=magbert_metrics,
            summary="MAG-BERT/ITHP: zero labels dropped before every metric, >= 0 split",
        ),
        MetricProtocol(
            name="mult",
            task="regression",
            metrics=("acc_2", "F1", "acc_5", "acc_7", "MAE", "Corr"),
            lower_is_better=frozenset({"MAE"}),
            primary="MAE",
            compute=mult_metrics,
            summary="MulT: zeros kept, > 0 split, F1 with the reference's swapped arguments",
        ),
        MetricProtocol(
            name="sims",
            task="regression",
            metrics=("Mult_acc_2", "Mult_acc_3", "Mult_acc_5", "F1", "MAE", "Corr"),
            lower_is_better=frozenset({"MAE"}),
            primary="MAE",
            compute=sims_metrics,
            summary="CH-SIMS: clip to [-1, 1], right-closed bins for acc-2/3/5",
        ),
    )
}

# Metrics the training engine adds beside a protocol's: the training loss and the synergy
# indicator of a classifier with unimodal branches. name -> higher is better.
ENGINE_METRICS: dict[str, bool] = {"loss": False, "synergy_branches": True}

# protocol name -> task, and metric name -> higher is better, over every protocol (derived
# from :data:`METRIC_PROTOCOLS`; kept as plain dicts for callers that only need a lookup).
PROTOCOLS: dict[str, str] = {name: p.task for name, p in METRIC_PROTOCOLS.items()}
HIGHER_IS_BETTER: dict[str, bool] = {
    **{m: p.higher_is_better(m) for p in METRIC_PROTOCOLS.values() for m in p.metrics},
    **ENGINE_METRICS,
}


def get_protocol(name: str) -> MetricProtocol:
    """The protocol called ``name``.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    if name not in METRIC_PROTOCOLS:
        raise ConfigError(
            f"unknown metric protocol {name!r} (available: {', '.join(METRIC_PROTOCOLS)})"
        )
    return METRIC_PROTOCOLS[name]


def resolve_protocol(task: str, protocol: str | None = None) -> MetricProtocol:
    """The protocol named ``protocol``, or the task's generic one when None.

    Raises:
        ConfigError: unknown task or protocol, or a protocol of the other task type.
    """
    if task not in ("classification", "regression"):
        raise ConfigError(f"task must be 'classification' or 'regression', got {task!r}")
    proto = get_protocol(task if protocol is None else protocol)
    if proto.task != task:
        raise ConfigError(f"metric protocol {proto.name!r} is for {proto.task} tasks, not {task}")
    return proto


def primary_metric(task: str, protocol: str | None = None) -> str:
    """The metric used for model selection under ``protocol`` (default: by task).

    Raises:
        ConfigError: unknown protocol, or a protocol of the other task type.
    """
    return resolve_protocol(task, protocol).primary


def higher_is_better(name: str, protocol: str | None = None) -> bool:
    """Direction of a metric, also for prefixed names such as ``"m1/accuracy"``.

    Args:
        name: metric name, optionally prefixed ``"<modality>/"``.
        protocol: look the metric up in this protocol (plus the engine's metrics) only; None
            accepts a metric of any protocol.

    Raises:
        ConfigError: the metric is unknown (the message names it and the allowed names), or
            the protocol is unknown.
    """
    if protocol is not None:
        return get_protocol(protocol).higher_is_better(name)
    base = name.rsplit("/", 1)[-1]
    if base not in HIGHER_IS_BETTER:
        raise ConfigError(f"unknown metric {name!r} (allowed: {', '.join(HIGHER_IS_BETTER)})")
    return HIGHER_IS_BETTER[base]


# ------------------------------------------------------------------------------ entry points
def compute_metrics(
    y_true: Any,
    prediction: Any,
    task: str,
    protocol: str | None = None,
    n_classes: int | None = None,
    only: Collection[str] | None = None,
) -> dict[str, float]:
    """All metrics of one protocol (or the subset ``only``).

    Args:
        y_true: ``(N,)`` class labels (classification) or scores (regression).
        prediction: ``(N, C)`` logits/probabilities for classification; ``(N,)`` (or
            ``(N, 1)``) scores for regression.
        task: ``"classification"`` or ``"regression"``.
        protocol: one of :data:`METRIC_PROTOCOLS` (default: ``"classification"`` /
            ``"regression"``).
        n_classes: expected number of columns of a classification prediction (checked if given).
        only: return only these metrics of the protocol (unknown names are ignored); the
            classification protocol then skips the costly ones not asked for.

    Returns:
        metric name -> float, in the order of the protocol's ``metrics``. NaN for every metric
        when the prediction holds NaN/inf.

    Raises:
        ConfigError: unknown protocol or a protocol for the other task.
        DataValidationError: the shapes of ``y_true`` and ``prediction`` do not match, or
            ``y_true`` holds NaN/inf.

    Example:
        >>> compute_metrics([1, -2, 0.5], [0.8, -1.0, -0.2], "regression", "mult")["acc_2"]
        0.6666666666666666
    """
    proto = resolve_protocol(task, protocol)
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
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise DataValidationError(
            f"y_true holds NaN/inf (first at index {int(np.flatnonzero(~np.isfinite(y))[0])})",
            problem="nan",
        )
    if proto.task == "classification":
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
    else:
        if pred.ndim == 2 and pred.shape[1] == 1:
            pred = pred[:, 0]
        if pred.ndim != 1:
            raise DataValidationError(
                f"regression prediction must be (N,) scores, got shape {pred.shape}",
                problem="prediction_shape",
            )
        y, pred = y.astype(np.float64), pred.astype(np.float64)
    scores = proto.task == "regression" or pred.ndim == 2  # not (N,) hard labels
    keep = proto.metrics if only is None else [m for m in proto.metrics if m in set(only)]
    if scores and pred.dtype.kind == "f" and not np.all(np.isfinite(pred)):
        return dict.fromkeys(keep, NAN)
    import sklearn

    # The inputs are checked above; scikit-learn's own checks of every argument of every call
    # would cost more than the metrics on a validation split.
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        if only is None:
            return proto.compute(y, pred)
        if proto.task == "classification":
            values = proto.compute(y, pred, names=keep)  # type: ignore[call-arg]
        else:  # every regression protocol is cheap: compute all, keep the asked ones
            values = proto.compute(y, pred)
    return {m: values[m] for m in keep if m in values}


def per_modality_metrics(
    y_true: Any,
    predictions: Mapping[str, Any],
    task: str,
    protocol: str | None = None,
    n_classes: int | None = None,
    only: Collection[str] | None = None,
) -> dict[str, float]:
    """Metrics of each unimodal branch, keyed ``"<modality>/<metric>"`` (``"m1/accuracy"``).

    Args:
        y_true: ``(N,)`` targets.
        predictions: modality name -> that branch's prediction, same layout as for
            :func:`compute_metrics`.
        task, protocol, n_classes, only: as for :func:`compute_metrics`.
    """
    out: dict[str, float] = {}
    for name, pred in predictions.items():
        for key, value in compute_metrics(y_true, pred, task, protocol, n_classes, only).items():
            out[f"{name}/{key}"] = value
    return out
