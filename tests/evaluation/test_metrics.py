"""Metric protocols against scikit-learn / numpy and hand-made cases (zeros, half-integers)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
from infofusion.evaluation import (
    HIGHER_IS_BETTER,
    PROTOCOLS,
    compute_metrics,
    higher_is_better,
    per_modality_metrics,
    primary_metric,
)
from infofusion.evaluation.metrics import average_precision, f1_scores, pearson, softmax


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# ------------------------------------------------------------------------------ classification
@pytest.mark.parametrize("seed", range(5))
def test_classification_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, c = 60, 4
    y = rng.integers(0, c, size=n)
    logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[y] * rng.integers(0, 2, size=(n, 1))
    got = compute_metrics(y, logits, "classification", n_classes=c)
    pred = logits.argmax(1)
    probs = _softmax(logits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = {
            "accuracy": accuracy_score(y, pred),
            "macro_f1": f1_score(y, pred, average="macro", zero_division=0),
            "weighted_f1": f1_score(y, pred, average="weighted", zero_division=0),
            "weighted_precision": precision_score(y, pred, average="weighted", zero_division=0),
            "weighted_recall": recall_score(y, pred, average="weighted", zero_division=0),
            "mAP": average_precision_score(np.eye(c)[y], probs, average="macro"),
        }
    assert got.keys() == ref.keys()
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, abs=1e-12), k


def test_classification_hand_case():
    y = np.array([0, 0, 1, 1, 2])
    # predictions 0, 1, 1, 1, 1: class 2 never predicted
    logits = np.array([[2, 0, 0], [0, 1, 0], [0, 3, 0], [0, 2, 1], [0, 1, 0.5]], dtype=float)
    m = compute_metrics(y, logits, "classification")
    assert m["accuracy"] == pytest.approx(3 / 5)
    # per-class F1: 2/3 (class 0), 2*2/(2+4)=2/3 (class 1), 0 (class 2)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert m["weighted_f1"] == pytest.approx((2 * 2 / 3 + 2 * 2 / 3) / 5)


def test_probabilities_are_not_softmaxed_again():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=50)
    probs = _softmax(3 * rng.normal(size=(50, 3)))
    got = compute_metrics(y, probs, "classification")["mAP"]
    assert got == pytest.approx(average_precision_score(np.eye(3)[y], probs, average="macro"))
    # the same numbers read as logits give a different ranking, hence a different mAP
    resoftmaxed = average_precision_score(np.eye(3)[y], _softmax(probs), average="macro")
    assert got != pytest.approx(resoftmaxed, abs=1e-9)


def test_average_precision_ties_match_sklearn():
    rng = np.random.default_rng(2)
    for _ in range(20):
        t = rng.integers(0, 2, size=30)
        t[0] = 1
        s = rng.integers(0, 4, size=30).astype(float)  # many ties
        assert average_precision(t, s) == pytest.approx(average_precision_score(t, s))
    assert np.isnan(average_precision(np.zeros(5), np.arange(5.0)))


def test_map_skips_classes_absent_from_truth():
    y = np.array([0, 1, 0, 1, 1])
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 3))
    probs = _softmax(logits)
    expected = np.mean([average_precision_score(y == c, probs[:, c]) for c in (0, 1)])
    assert compute_metrics(y, logits, "classification")["mAP"] == pytest.approx(expected)


def test_hard_labels_and_shape_errors():
    m = compute_metrics([0, 1, 1, 2], np.array([0, 1, 2, 2]), "classification")
    assert m["accuracy"] == 0.75 and "mAP" not in m
    with pytest.raises(DataValidationError, match="rows"):
        compute_metrics([0, 1, 1], np.zeros((4, 2)), "classification")
    with pytest.raises(DataValidationError, match="n_classes=3"):
        compute_metrics([0, 1], np.zeros((2, 2)), "classification", n_classes=3)
    with pytest.raises(DataValidationError, match="integer labels"):
        compute_metrics([0, 1], np.array([0.2, 0.7]), "classification")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40),
)
def test_f1_family_matches_sklearn_property(pairs):
    t = np.array([p[0] for p in pairs])
    p = np.array([p[1] for p in pairs])
    got = f1_scores(t, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert got["macro_f1"] == pytest.approx(f1_score(t, p, average="macro", zero_division=0))
        assert got["weighted_f1"] == pytest.approx(
            f1_score(t, p, average="weighted", zero_division=0)
        )
        assert got["weighted_recall"] == pytest.approx(
            recall_score(t, p, average="weighted", zero_division=0)
        )


# ------------------------------------------------------------------------------ regression
# Hand-made MOSI-like case: exact zeros in truth and prediction, half-integers, values beyond
# the clip ranges.
TRUTH = np.array([0.0, 0.0, 0.0, 1.5, -0.5, 2.5, -2.7, 0.5, 3.2, -1.0, 1.0, -0.2])
PRED = np.array([0.0, -0.3, 0.4, 2.4, -0.5, 1.6, -2.2, 0.4, 3.6, 0.0, 0.6, 0.1])


def _wf1(t, p):
    return f1_score(t, p, average="weighted")


def test_mmsa_against_reference_formulas():
    m = compute_metrics(TRUTH, PRED, "regression", "mmsa")
    nz = TRUTH != 0
    ref = {
        "Has0_acc_2": accuracy_score(TRUTH >= 0, PRED >= 0),
        "Has0_F1": _wf1(TRUTH >= 0, PRED >= 0),
        "Non0_acc_2": accuracy_score(TRUTH[nz] > 0, PRED[nz] > 0),
        "Non0_F1": _wf1(TRUTH[nz] > 0, PRED[nz] > 0),
        "Mult_acc_5": np.mean(np.round(np.clip(PRED, -2, 2)) == np.round(np.clip(TRUTH, -2, 2))),
        "Mult_acc_7": np.mean(np.round(np.clip(PRED, -3, 3)) == np.round(np.clip(TRUTH, -3, 3))),
        "MAE": mean_absolute_error(TRUTH, PRED),
        "Corr": pearsonr(PRED, TRUTH)[0],
    }
    assert m.keys() == ref.keys()
    for k, v in ref.items():
        assert m[k] == pytest.approx(v, abs=1e-12), k


def test_mmsa_closed_values():
    m = compute_metrics(TRUTH, PRED, "regression", "mmsa")
    # Has0: truth>=0 / pred>=0 disagree at index 1 (0 vs -0.3), 9 (-1 vs 0), 11 (-0.2 vs 0.1)
    assert m["Has0_acc_2"] == pytest.approx(9 / 12)
    # Non0 (9 samples): disagree at index 9 (pred 0 is not > 0 -> agrees: both non-positive)
    # and 11 (-0.2 vs 0.1)
    assert m["Non0_acc_2"] == pytest.approx(8 / 9)
    # half to even: round(0.5)=0=round(0.4); round(2.5)=2=round(1.6); round(1.5)=2=round(2.4)
    # acc-5: -2.7 and -2.2 both clip to -2 (match); acc-7: round(-2.7)=-3 != round(-2.2)=-2
    a5 = np.round(np.clip(PRED, -2, 2)) == np.round(np.clip(TRUTH, -2, 2))
    a7 = np.round(np.clip(PRED, -3, 3)) == np.round(np.clip(TRUTH, -3, 3))
    assert a5[6] and not a7[6] and a7[3] and a7[5] and a7[7]
    assert m["Mult_acc_5"] == pytest.approx(a5.mean())
    assert m["Mult_acc_7"] == pytest.approx(10 / 12)  # misses at index 6 and 9 (-1 vs 0)


def test_half_integers_round_to_even():
    truth = np.array([0.5, 1.5, 2.5, -2.5, -0.5])
    pred = np.array([0.4, 2.4, 1.6, -1.6, 0.0])
    m = compute_metrics(truth, pred, "regression", "mmsa")
    assert m["Mult_acc_7"] == 1.0  # round-half-up would give 0.2
    assert compute_metrics(truth, pred, "regression", "mult")["acc_7"] == 1.0


def test_magbert_drops_zeros_before_every_metric():
    m = compute_metrics(TRUTH, PRED, "regression", "magbert")
    nz = TRUTH != 0
    t, p = TRUTH[nz], PRED[nz]
    assert m["acc_2"] == pytest.approx(accuracy_score(t >= 0, p >= 0))
    assert m["F1"] == pytest.approx(_wf1(t >= 0, p >= 0))
    assert m["MAE"] == pytest.approx(mean_absolute_error(t, p))
    assert m["Corr"] == pytest.approx(pearsonr(p, t)[0])
    assert m["acc_7"] == pytest.approx(
        np.mean(np.round(np.clip(p, -3, 3)) == np.round(t.clip(-3, 3)))
    )
    # a prediction of exactly 0 counts as non-negative: index 9 (truth -1, pred 0) is wrong
    assert m["acc_2"] == pytest.approx(7 / 9)
    assert m["MAE"] != pytest.approx(mean_absolute_error(TRUTH, PRED))


def test_mult_keeps_zeros_with_strict_positive_rule():
    m = compute_metrics(TRUTH, PRED, "regression", "mult")
    assert m["acc_2"] == pytest.approx(accuracy_score(TRUTH > 0, PRED > 0))
    # reference argument order: f1_score(pred > 0, truth > 0)
    assert m["F1"] == pytest.approx(_wf1(PRED > 0, TRUTH > 0))
    assert m["MAE"] == pytest.approx(mean_absolute_error(TRUTH, PRED))
    # zeros kept, "> 0": truth 0 / pred 0.4 (index 2) disagree, truth 0 / pred -0.3 agree
    assert m["acc_2"] == pytest.approx(10 / 12)


def test_mult_f1_argument_order_matters():
    truth = np.array([1.0, 1.0, 1.0, -1.0, -1.0, 2.0])
    pred = np.array([1.0, -1.0, -1.0, -1.0, -1.0, -2.0])
    swapped, usual = _wf1(pred > 0, truth > 0), _wf1(truth > 0, pred > 0)
    assert swapped != pytest.approx(usual)
    assert compute_metrics(truth, pred, "regression", "mult")["F1"] == pytest.approx(swapped)


def _sims_class(v: float, edges: list[float]) -> int:
    # class i holds (edges[i-1], edges[i]]; below the first edge is class 0
    for i, e in enumerate(edges):
        if v <= e:
            return i
    return len(edges)


def test_sims_bins_and_clipping():
    truth = np.array([-1.0, -0.1, 0.0, 0.1, 0.7, 1.3, -0.7, 0.05, -1.4, 0.5])
    pred = np.array([-0.9, -0.05, 0.0, 0.12, 0.69, 2.0, -0.71, -0.1, -0.2, 0.0])
    m = compute_metrics(truth, pred, "regression", "sims")
    t, p = np.clip(truth, -1, 1), np.clip(pred, -1, 1)
    for key, edges in (
        ("Mult_acc_2", [0.0]),
        ("Mult_acc_3", [-0.1, 0.1]),
        ("Mult_acc_5", [-0.7, -0.1, 0.1, 0.7]),
    ):
        tc = [_sims_class(v, edges) for v in t]
        pc = [_sims_class(v, edges) for v in p]
        assert m[key] == pytest.approx(accuracy_score(tc, pc)), key
    t2 = [_sims_class(v, [0.0]) for v in t]
    p2 = [_sims_class(v, [0.0]) for v in p]
    assert m["F1"] == pytest.approx(_wf1(t2, p2))
    assert m["MAE"] == pytest.approx(np.mean(np.abs(p - t)))  # after clipping
    assert m["Corr"] == pytest.approx(pearsonr(p, t)[0])
    # closed values: acc-2 classes t=[0,0,0,1,1,1,0,1,0,1], p=[0,0,0,1,1,1,0,0,0,0]
    assert m["Mult_acc_2"] == pytest.approx(8 / 10)
    # acc-3: -0.1 -> class 0 and -0.05 -> class 1 (right-closed bins)
    assert _sims_class(-0.1, [-0.1, 0.1]) == 0 and _sims_class(-0.05, [-0.1, 0.1]) == 1


def test_generic_regression_matches_sklearn():
    rng = np.random.default_rng(4)
    t = rng.normal(size=40)
    p = t + 0.3 * rng.normal(size=40)
    m = compute_metrics(t, p[:, None], "regression")  # (N, 1) is accepted
    assert m["MAE"] == pytest.approx(mean_absolute_error(t, p))
    assert m["RMSE"] == pytest.approx(np.sqrt(mean_squared_error(t, p)))
    assert m["R2"] == pytest.approx(r2_score(t, p))
    assert m["Corr"] == pytest.approx(pearsonr(p, t)[0])


def test_degenerate_cases():
    assert pearson(np.ones(4), np.arange(4.0)) == 0.0  # undefined -> 0, not NaN
    m = compute_metrics(np.zeros(3), np.array([0.1, -0.1, 0.0]), "regression", "mmsa")
    assert np.isnan(m["Non0_acc_2"]) and np.isnan(m["Non0_F1"])
    assert np.isnan(compute_metrics(np.zeros(3), np.ones(3), "regression", "magbert")["MAE"])
    assert compute_metrics(np.ones(3), np.ones(3), "regression")["R2"] == 1.0


def test_softmax_rows_sum_to_one():
    z = np.array([[1000.0, 0.0], [-3.0, -3.0]])
    s = softmax(z)
    np.testing.assert_allclose(s.sum(1), 1.0)
    np.testing.assert_allclose(s[1], [0.5, 0.5])


# ------------------------------------------------------------------------------ protocols
def test_protocol_errors():
    with pytest.raises(ConfigError, match="unknown metric protocol 'mosi'"):
        compute_metrics([1.0], [1.0], "regression", "mosi")
    with pytest.raises(ConfigError, match="for regression tasks"):
        compute_metrics([1], np.ones((1, 2)), "classification", "mmsa")
    with pytest.raises(ConfigError):
        primary_metric("ranking")


def test_every_metric_has_a_direction_and_primary_is_produced():
    rng = np.random.default_rng(5)
    y_cls = rng.integers(0, 3, size=30)
    y_reg = rng.uniform(-3, 3, size=30).round()
    for proto, task in PROTOCOLS.items():
        if task == "classification":
            m = compute_metrics(y_cls, rng.normal(size=(30, 3)), task, proto)
        else:
            m = compute_metrics(y_reg, rng.normal(size=30), task, proto)
        assert set(m) <= set(HIGHER_IS_BETTER), proto
        assert primary_metric(task, proto) in m
        assert all(isinstance(v, float) for v in m.values())
    assert primary_metric("classification") == "accuracy"
    assert primary_metric("regression", "mmsa") == "MAE" and not HIGHER_IS_BETTER["MAE"]
    assert higher_is_better("m1/accuracy") and not higher_is_better("audio/MAE")


def test_per_modality_metrics_keys_and_values():
    y = np.array([0, 1, 1, 0])
    preds = {
        "audio": np.array([[2.0, 0], [0, 1], [1, 0], [1, 0]]),
        "video": np.array([[0.0, 1], [0, 1], [0, 1], [0, 1]]),
    }
    m = per_modality_metrics(y, preds, "classification", n_classes=2)
    assert m["audio/accuracy"] == 0.75 and m["video/accuracy"] == 0.5
    assert set(m) == {
        f"{k}/{n}" for k in preds for n in compute_metrics(y, preds["audio"], "classification")
    }
    r = per_modality_metrics(TRUTH, {"text": PRED}, "regression", "mmsa")
    assert r["text/MAE"] == pytest.approx(mean_absolute_error(TRUTH, PRED))
