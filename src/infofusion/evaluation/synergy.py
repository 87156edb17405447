"""Synergy indicator: share of samples the fused model gets right while every unimodal model errs.

A method that only ensembles unimodal decisions cannot score above zero here (if every voter is
wrong, so is any vote among them -- for a method's *own* branches); a joint model that uses
cross-modal structure (XOR-like samples) can. The indicator depends on which unimodal models it
is measured against, so the record always names the reference: ``"separate"`` (independently
trained unimodal models) or ``"branches"`` (the fused method's own unimodal heads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from infofusion.errors import ConfigError, EstimationError

REFERENCES = ("separate", "branches")


def _labels(pred: Any, n: int, name: str) -> np.ndarray:
    arr = pred.detach().cpu().numpy() if hasattr(pred, "detach") else np.asarray(pred)
    if arr.ndim == 2:
        arr = arr.argmax(axis=1) if arr.shape[1] > 1 else (arr[:, 0] > 0).astype(np.int64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise EstimationError(
            f"prediction '{name}' must be (N,) labels or (N, C) scores with N = {n}, got "
            f"shape {arr.shape}"
        )
    return arr


def synergy_indicator(
    y_true: Any,
    fused_pred: Any,
    unimodal_preds: Mapping[str, Any],
    reference: str,
    *,
    tolerance: float | None = None,
) -> dict[str, Any]:
    """Synergy indicator of one fused model against a set of unimodal models.

    Args:
        y_true: ``(N,)`` class labels (or scores, with ``tolerance``).
        fused_pred: ``(N,)`` predicted labels or ``(N, C)`` logits/probabilities of the fused
            model (``(N, 1)`` is read as a binary logit).
        unimodal_preds: modality name -> predictions in the same layout.
        reference: ``"separate"`` or ``"branches"`` -- which unimodal models these are.
        tolerance: for regression: a prediction is correct when ``|pred - y| <= tolerance``.

    Returns:
        A record: ``synergy`` (share of samples), ``n_synergy``, ``n``, ``reference``,
        ``fused_accuracy``, ``unimodal_accuracy`` (per modality), ``any_unimodal_accuracy``
        (share where at least one unimodal model is right) and ``modalities``.

    Raises:
        ConfigError: unknown reference or no unimodal predictions.
        EstimationError: shape mismatch.
    """
    if reference not in REFERENCES:
        raise ConfigError(f"reference must be one of {REFERENCES}, got {reference!r}")
    if not unimodal_preds:
        raise ConfigError("synergy_indicator needs at least one unimodal prediction")
    y = y_true.detach().cpu().numpy() if hasattr(y_true, "detach") else np.asarray(y_true)
    y = y.reshape(-1)
    n = len(y)
    if n == 0:
        raise EstimationError("synergy_indicator got no samples")

    def correct(pred: Any, name: str) -> np.ndarray:
        if tolerance is not None:
            arr = pred.detach().cpu().numpy() if hasattr(pred, "detach") else np.asarray(pred)
            arr = arr.reshape(n, -1)[:, 0] if arr.ndim == 2 and arr.shape[1] == 1 else arr
            if arr.shape != (n,):
                raise EstimationError(f"prediction '{name}' must be (N,) scores, got {arr.shape}")
            return np.abs(arr.astype(float) - y.astype(float)) <= tolerance
        return _labels(pred, n, name) == y

    fused_ok = correct(fused_pred, "fused")
    uni_ok = {m: correct(p, m) for m, p in unimodal_preds.items()}
    any_uni = np.zeros(n, dtype=bool)
    for ok in uni_ok.values():
        any_uni |= ok
    syn = fused_ok & ~any_uni
    return {
        "synergy": float(syn.mean()),
        "n_synergy": int(syn.sum()),
        "n": n,
        "reference": reference,
        "fused_accuracy": float(fused_ok.mean()),
        "unimodal_accuracy": {m: float(ok.mean()) for m, ok in uni_ok.items()},
        "any_unimodal_accuracy": float(any_uni.mean()),
        "modalities": sorted(uni_ok),
    }
