"""Test-time robustness of a trained model (MultiBench-style): noise and missing modalities.

The model is trained on clean data once; only its test inputs are perturbed:

* **Gaussian noise** of increasing strength ``p`` (0, 0.1, ..., 1.0 by default) added to each
  modality in turn and to all modalities at once. The bench's data is standardised on the
  training split, so ``p`` is the noise std in units of each feature's training std. Each level
  is averaged over ``draws`` noise draws, each seeded from (seed, modality, level, draw).
* **A missing modality**, each in turn, either *zeroed* or *mean-imputed* (replaced by its
  training-split mean). On standardised features the two coincide (the training mean is 0);
  both are recorded so that data trained without standardisation shows the difference.

Summaries (Liang et al., MultiBench, NeurIPS 2021 Datasets and Benchmarks, arXiv 2107.07502,
section 4 "robustness"; the effective robustness of Taori et al., arXiv 2007.00644):

* relative robustness RR: the area under the score-vs-level curve divided by the level range,
  i.e. the curve's average score (MultiBench integrates with a fixed step; we use the actual
  spacing, which is the same on their grid);
* effective robustness ER: the mean over levels of ``(m_l - m_0) - (b_l - b_0)``, the score lost
  by the method relative to a baseline's loss from the same clean start (MultiBench's baseline:
  late fusion on the same task). ER > 0: the method degrades less than the baseline.

For a lower-is-better metric (MAE) both are computed on the negated score, so higher RR/ER is
always more robust. Raw curves are stored; min-max normalisation over methods (MultiBench's
plots) is left to plots.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from infofusion.errors import ConfigError

#: Noise levels: std of the added noise in feature-std units.
LEVELS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
#: Ways of removing a modality.
MISSING: tuple[str, ...] = ("zero", "mean")


def relative_robustness(levels: Sequence[float], scores: Sequence[float], higher_is_better: bool = True) -> float:
    """MultiBench's relative robustness: trapezoid area under the curve / level range.

    Args:
        levels: increasing perturbation levels ``(L,)`` (first is usually 0).
        scores: metric at each level ``(L,)``.
        higher_is_better: False negates the scores first (MAE).
    """
    lv, sc = _check_curve(levels, scores)
    sc = sc if higher_is_better else -sc
    if len(lv) == 1:
        return float(sc[0])
    area = float(np.sum((sc[1:] + sc[:-1]) / 2 * np.diff(lv)))
    return area / float(lv[-1] - lv[0])


def effective_robustness(
    scores: Sequence[float], baseline: Sequence[float], higher_is_better: bool = True
) -> float:
    """Mean over levels of ``(m_l - m_0) - (b_l - b_0)`` (score change relative to a baseline).

    Args:
        scores: the method's curve ``(L,)``; ``scores[0]`` is the clean score.
        baseline: the baseline's curve on the same levels ``(L,)``.
        higher_is_better: False negates both curves first.
    """
    m = np.asarray(scores, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if m.shape != b.shape or m.ndim != 1 or len(m) == 0:
        raise ConfigError(f"effective_robustness needs two curves of the same length, got {m.shape} and {b.shape}")
    if not higher_is_better:
        m, b = -m, -b
    return float(np.mean((m - m[0]) - (b - b[0])))


def _check_curve(levels: Sequence[float], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    lv = np.asarray(levels, dtype=float)
    sc = np.asarray(scores, dtype=float)
    if lv.ndim != 1 or lv.shape != sc.shape or len(lv) == 0:
        raise ConfigError(f"a robustness curve needs levels and scores of the same length, got {lv.shape} and {sc.shape}")
    if len(lv) > 1 and not np.all(np.diff(lv) > 0):
        raise ConfigError(f"robustness levels must increase, got {list(lv)}")
    return lv, sc


def _seed(*parts: Any) -> int:
    return zlib.crc32(repr(parts).encode())


def robustness_curves(
    method: Any,
    data: Any,
    score: Callable[[np.ndarray, np.ndarray], float],
    *,
    split: str = "test",
    levels: Sequence[float] = LEVELS,
    draws: int = 3,
    seed: int = 0,
    batch_size: int = 1024,
) -> dict[str, Any]:
    """Scores of a trained method under test-time noise and missing modalities.

    Args:
        method: a trained :class:`~infofusion.methods.base.FusionMethod` (put in eval mode
            for the duration; its mode is restored).
        data: the (standardised) :class:`~infofusion.data.MultimodalDataset` it was trained on.
        score: ``score(y, prediction) -> float`` (e.g. accuracy).
        split: the split perturbed.
        levels: noise stds in feature-std units, increasing.
        draws: noise draws per level (>= 1), averaged.
        seed: base seed of the draws.
        batch_size: evaluation batch size.

    Returns:
        ``{"levels": [...], "draws": n, "noise": {"<modality>"|"all": [score per level]},
        "missing": {"<modality>": {"zero": score, "mean": score}}, "clean": score}``.
        Padded positions of sequences are never read, so they are left as they are.
    """
    import torch

    if draws < 1:
        raise ConfigError(f"robustness draws must be >= 1, got {draws}")
    lv = [float(v) for v in levels]
    _check_curve(lv, lv)
    idx = data.require_split(split, "to measure robustness on")
    train_idx = data.indices("train") if data.has_split("train") else idx
    base_x = {m: data.modality(m)[idx] for m in data.names}
    y = data.target[idx]
    lengths = {m: data.lengths(m)[idx] for m in data.names if data.lengths(m) is not None}
    device = next((p.device for p in method.parameters()), torch.device("cpu"))

    def evaluate(x: dict[str, torch.Tensor]) -> float:
        from infofusion.interfaces import Batch

        preds = []
        for start in range(0, len(idx), batch_size):
            sl = slice(start, start + batch_size)
            batch = Batch(x={k: v[sl] for k, v in x.items()}, y=y[sl], index=idx[sl],
                          lengths={k: v[sl] for k, v in lengths.items()}).to(device)
            preds.append(method(batch).prediction.float().cpu())
        return float(score(y.numpy(), torch.cat(preds).numpy()))

    was_training = method.training
    method.eval()
    try:
        with torch.no_grad():
            clean = evaluate(base_x)
            noise: dict[str, list[float]] = {}
            for target in (*data.names, "all"):
                hit = data.names if target == "all" else (target,)
                curve = []
                for level in lv:
                    if level == 0:
                        curve.append(clean)
                        continue
                    vals = []
                    for d in range(draws):
                        x = dict(base_x)
                        for m in hit:
                            g = torch.Generator().manual_seed(_seed(seed, m, target, level, d))
                            x[m] = base_x[m] + level * torch.randn(base_x[m].shape, generator=g)
                        vals.append(evaluate(x))
                    curve.append(float(np.mean(vals)))
                noise[target] = curve
            missing: dict[str, dict[str, float]] = {}
            for m in data.names:
                fill = {"zero": torch.zeros_like(base_x[m][:1]),
                        "mean": _train_mean(data, m, train_idx).expand_as(base_x[m][:1])}
                missing[m] = {how: evaluate({**base_x, m: fill[how].expand_as(base_x[m]).clone()})
                              for how in MISSING}
    finally:
        method.train(was_training)
    return {"levels": lv, "draws": draws, "split": split, "clean": clean, "noise": noise, "missing": missing}


def _train_mean(data: Any, name: str, train_idx: Any) -> Any:
    """Training-split mean of a modality, ``(1, D)`` or ``(1, 1, D)`` (valid steps only)."""
    x = data.modality(name)[train_idx]
    if x.ndim == 2:
        return x.mean(dim=0, keepdim=True)
    pooled = data.pooled(name)[train_idx]  # (N, D): per-sample mean over valid steps
    return pooled.mean(dim=0).reshape(1, 1, -1)
