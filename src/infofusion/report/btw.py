"""Plots of BTW's per-sample modality weights (built as ``matplotlib.figure.Figure`` objects;
no pyplot state, no backend switch).

* :func:`weight_trajectory_figure`: each modality's weight distribution on the training split
  over the updates (median, 25-75 % and 5-95 % bands).
* :func:`corrupted_weights_figure`: weights of corrupted vs clean samples per modality (final
  test weights as box plots; the training-split means over the updates beside them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def weight_trajectory_figure(rows: Sequence[dict[str, Any]], modalities: Sequence[str], split: str = "train") -> Any:
    """Quantile bands of each modality's weights after every update.

    Args:
        rows: the method's update log (each row: ``epoch`` and ``quantiles[split]``, an
            ``(M, 5)`` list of the 5/25/50/75/95 % quantiles).
        modalities: names, in the order of the quantile rows.
        split: which split's weights to draw.
    """
    from matplotlib.figure import Figure

    nr, nc = _grid(len(modalities))
    fig = Figure(figsize=(4 * nc, 3 * nr), layout="constrained")
    axes = fig.subplots(nr, nc, squeeze=False)
    epochs = [r["epoch"] + 1 for r in rows]
    q = np.array([r["quantiles"][split] for r in rows])  # (U, M, 5)
    for j, m in enumerate(modalities):
        ax = axes[j // nc][j % nc]
        ax.fill_between(epochs, q[:, j, 0], q[:, j, 4], alpha=0.2, color="C0", label="5-95 %")
        ax.fill_between(epochs, q[:, j, 1], q[:, j, 3], alpha=0.4, color="C0", label="25-75 %")
        ax.plot(epochs, q[:, j, 2], color="C0", marker="o", ms=3, label="median")
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_title(f"{m} ({split} split)")
        ax.set_xlabel("fusion epoch of the update")
        ax.set_ylabel("weight (uniform = 1)")
    for k in range(len(modalities), nr * nc):
        axes[k // nc][k % nc].set_visible(False)
    axes[0][0].legend(fontsize=7)
    return fig


def corrupted_weights_figure(
    weights: np.ndarray,
    corrupted: np.ndarray,
    modalities: Sequence[str],
    rows: Sequence[dict[str, Any]] = (),
) -> Any:
    """Weights on clean vs corrupted samples, per modality.

    Args:
        weights: ``(n, M)`` final weights of the test samples.
        corrupted: ``(n, M)`` bool ground truth (modality ``m`` corrupted on sample ``i``).
        modalities: names of the ``M`` columns.
        rows: the update log; when its rows carry ``corrupted["train"]`` (mean weight of clean
            and corrupted training samples per modality) a second panel draws them over time.
    """
    from matplotlib.figure import Figure

    tracked = [r for r in rows if (r.get("corrupted") or {}).get("train")]
    fig = Figure(figsize=(9 if tracked else 5, 3.5), layout="constrained")
    axes = fig.subplots(1, 2 if tracked else 1, squeeze=False)[0]
    ax = axes[0]
    data, labels, colors = [], [], []
    for j, m in enumerate(modalities):
        for flag, name, color in ((False, "clean", "C0"), (True, "corrupted", "C3")):
            sel = corrupted[:, j] == flag
            if sel.any():
                data.append(weights[sel, j])
                labels.append(f"{m}\n{name}")
                colors.append(color)
    parts = ax.boxplot(data, patch_artist=True, showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
    for patch, color in zip(parts["boxes"], colors, strict=True):
        patch.set_facecolor(color)
        patch.set_alpha(0.5)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("weight (test split, final)")
    ax.set_title("clean vs corrupted samples")
    if tracked:
        ax2 = axes[1]
        epochs = [r["epoch"] + 1 for r in tracked]
        for j, m in enumerate(modalities):
            means = np.array([r["corrupted"]["train"][m] for r in tracked], dtype=float)  # (U, 2)
            ax2.plot(epochs, means[:, 0], color=f"C{j}", marker="o", ms=3, label=f"{m} clean")
            if np.isfinite(means[:, 1]).any():
                ax2.plot(epochs, means[:, 1], color=f"C{j}", ls="--", marker="x", ms=4, label=f"{m} corrupted")
        ax2.set_xlabel("fusion epoch of the update")
        ax2.set_ylabel("mean weight (train split)")
        ax2.set_title("over training")
        ax2.legend(fontsize=7)
    return fig
