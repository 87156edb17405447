"""Every metric protocol against an independent scikit-learn/scipy computation on random inputs,
the protocol records (metrics, directions, primary metric) and the degenerate cases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import softmax
from scipy.stats import pearsonr
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
)

from infofusion.errors import ConfigError, DataValidationError
from infofusion.evaluation.metrics import (
    ENGINE_METRICS,
    HIGHER_IS_BETTER,
    METRIC_PROTOCOLS,
    PROTOCOLS,
    MetricProtocol,
    compute_metrics,
    get_protocol,
    higher_is_better,
    mmsa_metrics,
    primary_metric,
)

REGRESSION_PROTOCOLS = [n for n, p in METRIC_PROTOCOLS.items() if p.task == "regression"]


# ------------------------------------------------------------------------------ references
# Written from the protocol definitions (docs: formats-and-metrics), not from the module: the
# averages through scikit-learn's own `average=` options, the SIMS classes by explicit
# comparisons with the bin edges, Pearson with scipy.
def _wf1(t, p):
    return f1_score(t, p, average="weighted", zero_division=0)


def _corr(p, t):
    return 0.0 if np.ptp(p) == 0 or np.ptp(t) == 0 else pearsonr(p, t).statistic


def _acc_k(t, p, bound):
    return accuracy_score(np.round(np.clip(t, -bound, bound)), np.round(np.clip(p, -bound, bound)))


def ref_classification(y, logits):
    pred = logits.argmax(1)
    probs = softmax(logits, axis=1)
    present = [c for c in range(logits.shape[1]) if np.any(y == c)]
    return {
        "accuracy": accuracy_score(y, pred),
        "macro_f1": f1_score(y, pred, average="macro", zero_division=0),
        "weighted_f1": _wf1(y, pred),
        "weighted_precision": precision_score(y, pred, average="weighted", zero_division=0),
        "weighted_recall": recall_score(y, pred, average="weighted", zero_division=0),
        "mAP": np.mean([average_precision_score(y == c, probs[:, c]) for c in present]),
    }


def ref_regression(t, p):
    return {
        "MAE": mean_absolute_error(t, p),
        "RMSE": np.sqrt(mean_squared_error(t, p)),
        "Corr": _corr(p, t),
        "R2": r2_score(t, p),
    }


def ref_mmsa(t, p):
    nz = t != 0
    return {
        "Has0_acc_2": accuracy_score(t >= 0, p >= 0),
        "Has0_F1": _wf1(t >= 0, p >= 0),
        "Non0_acc_2": accuracy_score(t[nz] > 0, p[nz] > 0),
        "Non0_F1": _wf1(t[nz] > 0, p[nz] > 0),
        "Mult_acc_5": _acc_k(t, p, 2),
        "Mult_acc_7": _acc_k(t, p, 3),
        "MAE": mean_absolute_error(t, p),
        "Corr": _corr(p, t),
    }


def ref_magbert(t, p):
    nz = t != 0
    t, p = t[nz], p[nz]
    return {
        "acc_2": accuracy_score(t >= 0, p >= 0),
        "F1": _wf1(t >= 0, p >= 0),
        "acc_7": _acc_k(t, p, 3),
        "MAE": mean_absolute_error(t, p),
        "Corr": _corr(p, t),
    }


def ref_mult(t, p):
    return {
        "acc_2": accuracy_score(t > 0, p > 0),
        "F1": _wf1(p > 0, t > 0),  # the reference passes (pred, truth)
        "acc_5": _acc_k(t, p, 2),
        "acc_7": _acc_k(t, p, 3),
        "MAE": mean_absolute_error(t, p),
        "Corr": _corr(p, t),
    }


def _sims_classes(x, edges):
    conds = [x <= e for e in edges]  # right-closed: class i is (edge_{i-1}, edge_i]
    return np.select(conds, range(len(edges)), default=len(edges))


def ref_sims(t, p):
    t, p = np.clip(t, -1, 1), np.clip(p, -1, 1)
    two = (_sims_classes(t, [0.0]), _sims_classes(p, [0.0]))
    return {
        "Mult_acc_2": accuracy_score(*two),
        "Mult_acc_3": accuracy_score(_sims_classes(t, [-0.1, 0.1]), _sims_classes(p, [-0.1, 0.1])),
        "Mult_acc_5": accuracy_score(
            _sims_classes(t, [-0.7, -0.1, 0.1, 0.7]), _sims_classes(p, [-0.7, -0.1, 0.1, 0.7])
        ),
        "F1": _wf1(*two),
        "MAE": mean_absolute_error(t, p),
        "Corr": _corr(p, t),
    }


REFERENCE = {
    "classification": ref_classification,
    "regression": ref_regression,
    "mmsa": ref_mmsa,
    "magbert": ref_magbert,
    "mult": ref_mult,
    "sims": ref_sims,
}


def _random_case(protocol: str, seed: int):
    """Labels and predictions with exact zeros, ties, half-integers and values past the clips."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 120))
    if protocol == "classification":
        c = int(rng.integers(2, 7))
        y = rng.integers(0, c, n)
        logits = rng.normal(size=(n, c)) + 2.0 * np.eye(c)[y] * rng.integers(0, 2, (n, 1))
        if seed % 3 == 0:
            logits = np.round(logits)  # many tied scores
        return y, logits
    scale = 1.0 if protocol == "sims" else 3.0
    t = np.round(rng.uniform(-1.2 * scale, 1.2 * scale, n) * 2) / 2  # half-integers and zeros
    if protocol == "sims":
        t = np.round(rng.uniform(-1.2, 1.2, n), 1)  # exactly on the bin edges often
    t[rng.random(n) < 0.15] = 0.0
    kind = seed % 4
    if kind == 0:
        p = t + rng.normal(scale=0.5 * scale, size=n)
    elif kind == 1:
        p = np.round(rng.uniform(-1.5 * scale, 1.5 * scale, n), 1)
    elif kind == 2:
        p = -t + rng.normal(scale=0.1, size=n)
    else:
        p = np.where(rng.random(n) < 0.3, 0.0, t * 0.5)
    t[0], p[0] = 1.0 * scale, 0.5 * scale  # both binary classes present in truth
    t[1] = -1.0 * scale
    return t, p


def test_every_protocol_has_a_reference():
    assert set(REFERENCE) == set(METRIC_PROTOCOLS)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("protocol", sorted(METRIC_PROTOCOLS))
def test_protocol_matches_independent_computation(protocol, seed):
    task = PROTOCOLS[protocol]
    y, pred = _random_case(protocol, seed)
    got = compute_metrics(y, pred, task, protocol)
    ref = REFERENCE[protocol](np.asarray(y), np.asarray(pred))
    assert list(got) == list(METRIC_PROTOCOLS[protocol].metrics)
    assert got.keys() == ref.keys()
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key
        assert isinstance(got[key], float)


# ------------------------------------------------------------------------------ the records
def test_protocol_records():
    for name, proto in METRIC_PROTOCOLS.items():
        assert proto.name == name and proto.task in ("classification", "regression")
        assert proto.primary in proto.metrics and len(set(proto.metrics)) == len(proto.metrics)
        # errors and losses go down, everything else (accuracies, F1, AP, Corr, R2) up
        assert proto.lower_is_better == {m for m in proto.metrics if m in ("MAE", "RMSE")}
        assert primary_metric(proto.task, name) == proto.primary
        for metric in proto.metrics:
            # one name, one direction, whichever protocol it comes from
            assert proto.higher_is_better(metric) == HIGHER_IS_BETTER[metric]
            assert higher_is_better(f"audio/{metric}", name) == HIGHER_IS_BETTER[metric]
    assert primary_metric("classification") == "accuracy"
    assert primary_metric("regression") == "MAE"
    with pytest.raises(dataclasses.FrozenInstanceError):
        METRIC_PROTOCOLS["mmsa"].primary = "Corr"  # type: ignore[misc]


def test_unknown_metric_is_a_config_error_naming_it_and_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"'acc_2' for the 'mmsa' protocol .*Has0_acc_2"):
        higher_is_better("acc_2", "mmsa")  # a MulT/MAG-BERT name, not an MMSA one
    with pytest.raises(ConfigError, match=r"unknown metric 'm1/accuracyy' \(allowed: .*macro_f1"):
        higher_is_better("m1/accuracyy")
    with pytest.raises(ConfigError, match="unknown metric protocol 'mosi'"):
        higher_is_better("MAE", "mosi")
    with pytest.raises(ConfigError, match="unknown metric protocol 'mosi'.*sims"):
        get_protocol("mosi")
    # the engine's own metrics are known under every protocol
    assert higher_is_better("synergy_branches", "classification") is True
    assert higher_is_better("loss", "sims") is False
    assert ENGINE_METRICS.keys() <= HIGHER_IS_BETTER.keys()
    assert higher_is_better("m1/MAE", "sims") is False


def test_protocol_record_is_checked_on_creation():
    with pytest.raises(ConfigError, match="primary metric 'acc' is not one of its metrics"):
        MetricProtocol("x", "regression", ("MAE",), frozenset({"MAE"}), "acc", mmsa_metrics)
    with pytest.raises(ConfigError, match="lower_is_better names unknown metrics"):
        MetricProtocol("x", "regression", ("MAE",), frozenset({"RMSE"}), "MAE", mmsa_metrics)


def test_trainer_refuses_a_selection_metric_of_another_protocol():
    from infofusion.training import TrainConfig, fit
    from tests.helpers import xor_dataset

    data = xor_dataset(n=60, seed=0)
    with pytest.raises(ConfigError, match=r"'Non0_F1' for the 'classification' protocol"):
        fit("joint", data, TrainConfig(epochs=1, metric="Non0_F1", progress=False))


# ------------------------------------------------------------------------------ degenerate input
@pytest.mark.parametrize("protocol", REGRESSION_PROTOCOLS)
def test_constant_prediction_has_zero_correlation_not_nan(protocol):
    t, _ = _random_case(protocol, 1)
    got = compute_metrics(t, np.full(len(t), 0.3), "regression", protocol)
    assert got["Corr"] == 0.0  # Pearson is undefined: the documented value, no NaN
    assert all(np.isfinite(v) for v in got.values()), got
    ref = REFERENCE[protocol](t, np.full(len(t), 0.3))
    assert got == pytest.approx(ref, abs=1e-12)
    # a constant target: the same rule
    assert compute_metrics(np.ones(5), np.arange(5.0), "regression", protocol)["Corr"] == 0.0


def test_constant_class_prediction():
    y = np.array([0, 1, 2, 1, 0, 2, 2])
    logits = np.tile([0.1, 2.0, 0.3], (7, 1))  # always class 1, every row the same scores
    got = compute_metrics(y, logits, "classification")
    assert got == pytest.approx(ref_classification(y, logits), abs=1e-12)
    assert got["accuracy"] == pytest.approx(2 / 7)
    # tied scores rank nothing: AP of each class is its prevalence
    assert got["mAP"] == pytest.approx(np.mean([2 / 7, 2 / 7, 3 / 7]))


def test_single_class_present():
    y = np.ones(6, dtype=int)
    logits = np.random.default_rng(0).normal(size=(6, 3))
    got = compute_metrics(y, logits, "classification")
    assert got == pytest.approx(ref_classification(y, logits), abs=1e-12)
    assert got["mAP"] == 1.0  # the only class present holds every sample: AP 1 at any ranking
    assert got["weighted_f1"] == pytest.approx(f1_score(y, logits.argmax(1), average="weighted"))
    # regression protocols when every label (and prediction) is on one side of zero
    t, p = np.array([0.5, 1.0, 2.0, 1.5]), np.array([0.2, 0.4, 3.0, 1.0])
    m = compute_metrics(t, p, "regression", "mmsa")
    assert m["Has0_acc_2"] == m["Has0_F1"] == m["Non0_F1"] == 1.0
    m = compute_metrics(t, -p, "regression", "mmsa")  # every prediction on the wrong side
    assert m["Has0_acc_2"] == m["Has0_F1"] == 0.0


def test_nonfinite_prediction_gives_nan_for_every_metric():
    t, p = _random_case("mmsa", 0)
    p[3] = np.nan
    for protocol in REGRESSION_PROTOCOLS:
        got = compute_metrics(t, p, "regression", protocol)
        assert list(got) == list(METRIC_PROTOCOLS[protocol].metrics)
        assert all(np.isnan(v) for v in got.values())
    logits = np.zeros((3, 2))
    logits[1, 0] = np.inf
    got = compute_metrics([0, 1, 0], logits, "classification")
    assert set(got) == set(METRIC_PROTOCOLS["classification"].metrics)
    assert all(np.isnan(v) for v in got.values())
    with pytest.raises(DataValidationError, match="y_true holds NaN/inf .*index 1"):
        compute_metrics([0.5, np.nan], [0.1, 0.2], "regression", "mmsa")


def test_empty_selection_and_tiny_inputs():
    for protocol in REGRESSION_PROTOCOLS:
        got = compute_metrics(np.zeros(0), np.zeros(0), "regression", protocol)
        assert list(got) == list(METRIC_PROTOCOLS[protocol].metrics)
        assert all(np.isnan(v) for v in got.values())
    # one sample is a constant target: R2 1 for an exact prediction, 0 otherwise
    assert compute_metrics([2.0], [2.0], "regression")["R2"] == 1.0
    assert compute_metrics([2.0], [1.0], "regression")["R2"] == 0.0
