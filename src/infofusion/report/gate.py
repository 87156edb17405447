"""Per-sample gate weights of a gated decomposition (DMIL) against interaction types.

The arrays come from a run's per-sample outputs (``Trainer.predict`` / the ``.npz`` written by
``infofusion train --per-sample``): ``diagnostics["gate/<component>"]`` ``(N,)`` per component.
The groups are per-sample labels: the true interaction type of the synthetic suite
(``sample_meta["interaction"]``), the dominant atom of an estimated pointwise composition, or
the class.

* :func:`gate_matrix` -- ``(N, K)`` weights in component order.
* :func:`gate_by_group` -- mean weight of each component within each group.
* :func:`gate_confusion` -- counts of (group, argmax component).
* :func:`component_types` -- which interaction type each component stands for.
* :func:`plot_gate_by_group`, :func:`plot_gate_confusion` -- ``matplotlib.figure.Figure``
  objects (no pyplot state); :func:`plot_dmil_gates` draws a run's plots and saves them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from infofusion.errors import ConfigError

TYPE_ORDER = ("redundancy", "uniqueness1", "uniqueness2", "uniqueness3", "synergy")


def component_types(components: Sequence[str], modalities: Sequence[str]) -> dict[str, str]:
    """Interaction type each component stands for: ``R`` -> redundancy, ``U_<k-th modality>``
    -> ``uniqueness<k>``, ``S`` -> synergy (the names of ``sample_meta["interaction"]``).
    Components of no single type (``M_<m>`` of the ID-only ablation) are left out."""
    out: dict[str, str] = {}
    for c in components:
        if c == "R":
            out[c] = "redundancy"
        elif c == "S":
            out[c] = "synergy"
        elif c.startswith("U_") and c[2:] in modalities:
            out[c] = f"uniqueness{list(modalities).index(c[2:]) + 1}"
    return out


def gate_matrix(diagnostics: Mapping[str, Any], components: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """``(components, (N, K) weights)`` from per-sample diagnostics ``gate/<component>``.

    Args:
        diagnostics: name -> ``(N,)`` array (the ``diagnostics`` of a per-sample output).
        components: the order (default: the order of the ``gate/`` keys).

    Raises:
        ConfigError: no ``gate/`` entry, or a named component without one.
    """
    have = [k[len("gate/"):] for k in diagnostics if k.startswith("gate/")]
    if not have:
        raise ConfigError(f"no gate weights among the diagnostics (keys: {', '.join(sorted(diagnostics)) or 'none'})")
    names = list(components) if components is not None else have
    missing = [c for c in names if c not in have]
    if missing:
        raise ConfigError(f"no gate weights for component(s) {', '.join(missing)} (have {', '.join(have)})")
    return names, np.stack([np.asarray(diagnostics[f"gate/{c}"], dtype=np.float64) for c in names], axis=1)


def _group_order(groups: np.ndarray) -> list[str]:
    present = [str(g) for g in np.unique(groups)]
    known = [t for t in TYPE_ORDER if t in present]
    return known + sorted(g for g in present if g not in known)


def gate_by_group(gates: np.ndarray, groups: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Mean gate weight of each component within each group.

    Args:
        gates: ``(N, K)`` weights.
        groups: ``(N,)`` group label per sample.

    Returns:
        ``(group names, (G, K) means, (G,) counts)``; groups in the order of
        :data:`TYPE_ORDER`, then sorted.
    """
    groups = np.asarray(groups).astype(str)
    if groups.shape != (gates.shape[0],):
        raise ConfigError(f"groups must be ({gates.shape[0]},) like the gate weights, got {groups.shape}")
    names = _group_order(groups)
    means = np.stack([gates[groups == g].mean(axis=0) for g in names])
    counts = np.array([int((groups == g).sum()) for g in names])
    return names, means, counts


def gate_confusion(gates: np.ndarray, groups: Any) -> tuple[list[str], np.ndarray]:
    """Counts of samples per (group, component with the largest gate weight).

    Returns:
        ``(group names, (G, K) integer counts)``; rows sum to the group sizes.
    """
    groups = np.asarray(groups).astype(str)
    if groups.shape != (gates.shape[0],):
        raise ConfigError(f"groups must be ({gates.shape[0]},) like the gate weights, got {groups.shape}")
    names = _group_order(groups)
    top = gates.argmax(axis=1)
    counts = np.zeros((len(names), gates.shape[1]), dtype=np.int64)
    for i, g in enumerate(names):
        counts[i] = np.bincount(top[groups == g], minlength=gates.shape[1])
    return names, counts


def plot_gate_by_group(
    means: np.ndarray, groups: Sequence[str], components: Sequence[str], title: str, counts: Sequence[int] | None = None
) -> Any:
    """Grouped bars: for each group, the mean gate weight of every component."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.6 + 1.3 * len(groups), 3.4), layout="constrained")
    ax = fig.add_subplot()
    k = len(components)
    width = 0.8 / k
    x = np.arange(len(groups))
    for j, c in enumerate(components):
        ax.bar(x + (j - (k - 1) / 2) * width, means[:, j], width, label=c)
    labels = [f"{g}\n(n={n})" for g, n in zip(groups, counts, strict=True)] if counts is not None else list(groups)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean gate weight")
    ax.set_title(title)
    ax.legend(fontsize="small", ncols=min(k, 5))
    return fig


def plot_gate_confusion(counts: np.ndarray, groups: Sequence[str], components: Sequence[str], title: str) -> Any:
    """Heat map of row-normalised counts (group x argmax component), counts written in cells."""
    from matplotlib.figure import Figure

    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(1.6 + 0.9 * len(components), 1.2 + 0.55 * len(groups)), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(components)), list(components))
    ax.set_yticks(range(len(groups)), list(groups))
    ax.set_xlabel("component with the largest gate weight")
    for i in range(share.shape[0]):
        for j in range(share.shape[1]):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color="white" if share[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="share of the row")
    return fig


def plot_dmil_gates(stem: str, result: Any, components: Sequence[str], modalities: Sequence[str]) -> list[str]:
    """Draw a DMIL run's gate plots (PNG and SVG) and return the paths.

    * ground truth in ``result.data.sample_meta["interaction"]``: mean gate weight per true type
      (``<stem>_gate_by_type``) and the confusion of argmax gate against true type
      (``<stem>_gate_confusion``);
    * otherwise, two modalities: the same two plots against the dominant atom of
      :func:`infofusion.measures.pointwise.pointwise_composition` on the test split
      (``<stem>_gate_by_pointwise``, ``<stem>_gate_confusion_pointwise``);
    * otherwise: mean gate weight per class (``<stem>_gate_by_class``).

    Args:
        stem: path prefix of the files.
        result: the run's :class:`~infofusion.training.FitResult` (``test_outputs``, ``data``).
        components: the method's component names (gate order).
        modalities: the method's modalities.
    """
    from infofusion.report.figures import save_figure

    out = result.test_outputs
    if out is None:
        return []
    names, gates = gate_matrix(out["diagnostics"], components)
    data = result.data
    index = np.asarray(out["index"])
    truth = (data.sample_meta or {}).get("interaction") if data is not None else None
    paths: list[str] = []
    if truth is not None:
        groups, kind, what = np.asarray(truth)[index], "type", "true interaction type"
    elif data is not None and len(modalities) == 2:
        from infofusion.measures.pointwise import pointwise_composition

        comp = pointwise_composition(data, tuple(modalities), eval_split="test")
        position = {int(i): k for k, i in enumerate(comp.index)}
        groups = np.array([comp.dominant[position[int(i)]] for i in index])
        kind, what = "pointwise", "dominant pointwise atom (estimated)"
    else:
        groups, kind, what = np.asarray(out["y"]).astype(str), "class", "class"
    gnames, means, counts = gate_by_group(gates, groups)
    fig = plot_gate_by_group(means, gnames, names, f"DMIL gate by {what}", counts)
    paths += save_figure(fig, f"{stem}_gate_by_{kind}")
    if kind != "class":
        gnames, conf = gate_confusion(gates, groups)
        suffix = "" if kind == "type" else "_pointwise"
        fig = plot_gate_confusion(conf, gnames, names, f"argmax gate vs {what}")
        paths += save_figure(fig, f"{stem}_gate_confusion{suffix}")
    return paths
