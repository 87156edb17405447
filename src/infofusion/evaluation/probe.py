"""Per-modality linear probes on a trained method's frozen encoder outputs.

A probe answers "how much of the task can a linear read-out find in what encoder ``m`` learnt?",
independently of how the method's own head uses it: a modality that joint training left
under-trained (the "lazy modality") shows a probe accuracy well below that of the same encoder
trained alone. The method exposes its per-modality representations through
:meth:`FusionMethod.modality_features <infofusion.methods.base.FusionMethod.modality_features>`.

Protocol: features of the train, valid and test splits are computed once (eval mode, no
gradient), standardised with the train split's statistics; one probe per regularisation value
of a small grid is fitted on the train split (scikit-learn's ``LogisticRegression`` for
classification, ``Ridge`` for regression), the value best on the valid split is kept (ties: the
strongest regularisation), and its score on every split is reported. Without a valid split the
middle of the grid is used and nothing is selected. The test split never selects anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from infofusion.errors import ConfigError

__all__ = ["C_GRID", "RIDGE_GRID", "ProbeResult", "linear_probe", "modality_features", "probe_metrics"]

#: inverse regularisation strengths of the logistic probe (strongest first)
C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
#: regularisation strengths of the ridge probe (strongest first)
RIDGE_GRID: tuple[float, ...] = (100.0, 10.0, 1.0, 0.1)


@dataclass(frozen=True)
class ProbeResult:
    """The linear probe of one modality.

    Attributes:
        modality: the modality.
        metric: ``accuracy`` (classification) or ``mae`` (regression).
        scores: split -> the probe's ``metric`` on that split.
        regularization: the chosen ``C`` (logistic) or ``alpha`` (ridge).
        selected_on: ``"valid"``, or ``None`` when there was no valid split.
        dim: the feature dimension.
    """

    modality: str
    metric: str
    scores: dict[str, float]
    regularization: float
    selected_on: str | None
    dim: int


@torch.no_grad()
def modality_features(method: Any, data: Any, split: str, batch_size: int = 2048) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The method's per-modality features of one split (eval mode; the mode is restored).

    Returns:
        (modality -> ``(N, D)`` float array, ``(N,)`` targets).
    """
    was_training = method.training
    method.eval()
    device = next(method.parameters()).device
    feats: dict[str, list[np.ndarray]] = {}
    ys = []
    try:
        for batch in data.batches(split, batch_size):
            out = method.modality_features(batch.to(device))
            for m, v in out.items():
                feats.setdefault(m, []).append(v.detach().float().reshape(v.shape[0], -1).cpu().numpy())
            ys.append(batch.y.cpu().numpy())
    finally:
        method.train(was_training)
    return {m: np.concatenate(v) for m, v in feats.items()}, np.concatenate(ys)


def _fit_score(task: str, reg: float, xtr: np.ndarray, ytr: np.ndarray, max_iter: int) -> Any:
    if task == "classification":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=reg, max_iter=max_iter).fit(xtr, ytr)
    from sklearn.linear_model import Ridge

    return Ridge(alpha=reg).fit(xtr, ytr)


def _score(task: str, model: Any, x: np.ndarray, y: np.ndarray) -> float:
    pred = model.predict(x)
    if task == "classification":
        return float(np.mean(pred == y))
    return float(np.mean(np.abs(pred - y)))


def linear_probe(
    method: Any,
    data: Any,
    *,
    grid: tuple[float, ...] | None = None,
    batch_size: int = 2048,
    max_iter: int = 2000,
) -> dict[str, ProbeResult]:
    """Fit a linear probe on each modality's frozen features of ``method``.

    Args:
        method: a trained :class:`~infofusion.methods.base.FusionMethod`.
        data: the dataset it was trained on, as the trainer saw it (``FitResult.data``: the
            standardised copy).
        grid: regularisation values, strongest first (default :data:`C_GRID` or
            :data:`RIDGE_GRID`).
        batch_size: feature-extraction batch size.
        max_iter: iterations of the logistic solver.

    Returns:
        modality -> :class:`ProbeResult`.

    Raises:
        ConfigError: the method exposes no per-modality features, or the data has no train
            split.
    """
    if "train" not in data.splits:
        raise ConfigError(f"linear probe: dataset '{data.name}' has no train split (splits: {sorted(data.splits)})")
    task = data.task
    grid = tuple(grid or (C_GRID if task == "classification" else RIDGE_GRID))
    splits = [s for s in ("train", "valid", "test") if s in data.splits]
    feats = {s: modality_features(method, data, s, batch_size) for s in splits}
    if not feats["train"][0]:
        raise ConfigError(
            f"linear probe: method '{getattr(method, 'name', type(method).__name__)}' exposes no per-modality "
            "encoder outputs (FusionMethod.modality_features returned nothing)"
        )
    metric = "accuracy" if task == "classification" else "mae"
    results = {}
    for m in feats["train"][0]:
        xtr, ytr = feats["train"][0][m], feats["train"][1]
        mean, std = xtr.mean(axis=0), xtr.std(axis=0)
        std[std < 1e-8] = 1.0

        def z(x: np.ndarray, mean: np.ndarray = mean, std: np.ndarray = std) -> np.ndarray:
            return (x - mean) / std

        if "valid" in feats:
            xva, yva = z(feats["valid"][0][m]), feats["valid"][1]
            best: tuple[float, float, Any] | None = None
            for reg in grid:
                model = _fit_score(task, reg, z(xtr), ytr, max_iter)
                s = _score(task, model, xva, yva)
                better = best is None or (s > best[0] if task == "classification" else s < best[0])
                if better:
                    best = (s, reg, model)
            assert best is not None
            _, reg, model = best
            selected_on: str | None = "valid"
        else:
            reg = grid[len(grid) // 2]
            model, selected_on = _fit_score(task, reg, z(xtr), ytr, max_iter), None
        scores = {s: _score(task, model, z(feats[s][0][m]), feats[s][1]) for s in splits}
        results[m] = ProbeResult(m, metric, scores, float(reg), selected_on, int(xtr.shape[1]))
    return results


def probe_metrics(results: dict[str, ProbeResult]) -> dict[str, float]:
    """Record keys of probe results: ``"<split>/probe/<modality>/<metric>"`` -> value."""
    return {f"{split}/probe/{r.modality}/{r.metric}": v for r in results.values() for split, v in r.scores.items()}
