"""Information-plane plot of a bottleneck chain: compression vs detector reconstruction per link.

Each link of an ITHP chain contributes one trajectory over training epochs: the x-axis is the
compression term (the KL of the link's posterior to N(0, I), an upper bound on I(input; B_k) in
nats), the y-axis is the reconstruction error of the link's detector (lower error means B_k keeps
more about the detector). Points are the dicts recorded by ``ITHP.on_epoch_end`` (``ITHP.info_plane``)
or any records with the keys ``epoch``, ``link``, ``rate`` and ``recon``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def _series(
    points: Iterable[Mapping[str, Any]], x_key: str
) -> dict[tuple[int, str], list[tuple[int, float, float]]]:
    out: dict[tuple[int, str], list[tuple[int, float, float]]] = {}
    for i, p in enumerate(points):
        epoch = p.get("epoch")
        key = (int(p["link"]), str(p.get("detector", "")))
        out.setdefault(key, []).append(
            (i if epoch is None else int(epoch), float(p[x_key]), float(p["recon"]))
        )
    return {k: sorted(v) for k, v in sorted(out.items())}


def bottleneck_plane_figure(
    points: Iterable[Mapping[str, Any]], title: str = "ITHP information plane", x_key: str = "rate"
) -> Any:
    """The trajectory of every link (compression against detector reconstruction), as a
    :class:`matplotlib.figure.Figure` (no pyplot state, no backend switch).

    Args:
        points: records with ``epoch``, ``link``, ``recon``, ``x_key`` (and ``detector``).
        title: figure title.
        x_key: compression measure on the x-axis (``rate``: KL summed over latent dims, nats;
            ``kl``: the per-dimension mean used in the loss).

    Raises:
        ValueError: there are no points to draw.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    series = _series(points, x_key)
    if not series:
        raise ValueError("no information-plane points to plot")
    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot()
    cmap = colormaps["tab10"]
    for i, ((link, det), pts) in enumerate(series.items()):
        epochs = [p[0] for p in pts]
        xs = [p[1] for p in pts]
        ys = [p[2] for p in pts]
        color = cmap(i % 10)
        label = f"link {link}" + (f" -> {det}" if det else "")
        ax.plot(xs, ys, "-", color=color, alpha=0.5, linewidth=1)
        # marker shade encodes training time: light = early, dark = late
        ax.scatter(
            xs,
            ys,
            c=epochs,
            cmap="Greys",
            vmin=min(epochs) - 0.3 * (max(epochs) - min(epochs) + 1),
            edgecolors=color,
            linewidths=1.2,
            s=28,
            zorder=3,
            label=label,
        )
        ax.annotate(
            f"ep {epochs[-1]}",
            (xs[-1], ys[-1]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    unit = "nats" if x_key == "rate" else "per latent dim"
    ax.set_xlabel(f"compression: KL(q(B_k | input) || N(0, I)) [{unit}]")
    ax.set_ylabel("detector reconstruction MSE (scaled targets)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_information_plane(
    points: Iterable[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "ITHP information plane",
    x_key: str = "rate",
    formats: tuple[str, ...] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Draw :func:`bottleneck_plane_figure` and save it as PNG and SVG.

    Args:
        points: records with ``epoch``, ``link``, ``recon``, ``x_key`` (and ``detector``).
        path: output path; its suffix is replaced by each of ``formats``.
        title: figure title.
        x_key: see :func:`bottleneck_plane_figure`.
        formats: file formats written.
        dpi: resolution of raster formats.

    Returns:
        The written files.

    Raises:
        ValueError: there are no points to draw.
    """
    fig = bottleneck_plane_figure(points, title, x_key)
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        out = base.with_suffix("." + fmt)
        fig.savefig(out, dpi=dpi)
        written.append(out)
    return written


# ---------------------------------------------------------------- the generic layer plane
def layer_plane_figure(points: Iterable[Mapping[str, Any]], title: str = "information plane") -> Any:
    """I(T; X) against I(T; Y) of every layer over training, as a ``matplotlib`` Figure.

    One line per layer (in order of epochs, marker shape per layer), points coloured by epoch,
    thin bars for the estimator's 95 % intervals. Built as a :class:`matplotlib.figure.Figure`
    directly: the user's backend and pyplot state are never touched.

    Args:
        points: records of :func:`infofusion.training.info_plane.points_from_history` (keys
            ``layer``, ``epoch``, ``I_TX``, ``I_TY`` and optionally ``stage``, ``*_low``,
            ``*_high``); points with a NaN coordinate are left out.
        title: figure title.

    Raises:
        ValueError: no point with finite coordinates.
    """
    import math

    from matplotlib.figure import Figure

    points = list(points)
    several_seeds = len({p.get("seed") for p in points}) > 1
    layers: dict[str, list[Mapping[str, Any]]] = {}
    for p in points:
        if math.isfinite(float(p["I_TX"])) and math.isfinite(float(p["I_TY"])):
            key = str(p["layer"])
            if p.get("stage") not in (None, "main"):
                key += f" ({p['stage']})"
            if several_seeds:
                key += f" seed {p.get('seed')}"
            layers.setdefault(key, []).append(p)
    if not layers:
        raise ValueError("no information-plane points with finite values to plot")
    epochs = [int(p["epoch"]) for pts in layers.values() for p in pts]
    lo, hi = min(epochs), max(epochs)
    fig = Figure(figsize=(6.0, 4.5))
    ax = fig.add_subplot()
    markers = "osD^v<>phX*"
    sc = None
    for i, pts in enumerate(layers.values()):
        pts = sorted(pts, key=lambda p: int(p["epoch"]))
        xs = [float(p["I_TX"]) for p in pts]
        ys = [float(p["I_TY"]) for p in pts]
        ax.plot(xs, ys, "-", color="0.55", linewidth=1, zorder=1)
        if all(f"I_{k}_{s}" in p for p in pts for k in ("TX", "TY") for s in ("low", "high")):
            xerr = [[x - float(p["I_TX_low"]) for x, p in zip(xs, pts, strict=True)],
                    [float(p["I_TX_high"]) - x for x, p in zip(xs, pts, strict=True)]]
            yerr = [[y - float(p["I_TY_low"]) for y, p in zip(ys, pts, strict=True)],
                    [float(p["I_TY_high"]) - y for y, p in zip(ys, pts, strict=True)]]
            ax.errorbar(xs, ys, xerr=xerr, yerr=yerr, fmt="none", ecolor="0.75", elinewidth=0.8, zorder=1)
        sc = ax.scatter(
            xs, ys, c=[int(p["epoch"]) for p in pts], cmap="viridis", vmin=lo, vmax=max(hi, lo + 1),
            marker=markers[i % len(markers)], edgecolors="black", linewidths=0.5, s=36, zorder=3,
        )
    fig.colorbar(sc, ax=ax, label="epoch")
    ax.set_xlabel("I(T; X) [bits]")
    ax.set_ylabel("I(T; Y) [bits]")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    # legend markers in a neutral colour: the colour of a point is its epoch, not its layer
    proxies = [
        Line2D([], [], color="0.55", marker=markers[i % len(markers)], markerfacecolor="white",
               markeredgecolor="black", label=layer)
        for i, layer in enumerate(layers)
    ]
    ax.legend(handles=proxies, fontsize=8)
    fig.tight_layout()
    return fig


def save_layer_plane(
    points: Iterable[Mapping[str, Any]], stem: str | Path, title: str = "information plane",
    formats: tuple[str, ...] = ("png", "svg"), dpi: int = 150,
) -> list[str]:
    """Draw :func:`layer_plane_figure` and write ``<stem>.<fmt>`` for each format; the paths."""
    fig = layer_plane_figure(points, title)
    base = Path(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = base.parent / f"{base.name}.{fmt}"
        fig.savefig(path, dpi=dpi)
        paths.append(str(path))
    return paths


def read_info_plane(path: str | Path) -> list[dict[str, Any]]:
    """Points from a JSON-lines file: either one point per line (the ``*_info_plane.jsonl`` that
    ``train --plots`` writes) or run records (``train --out``), whose ``extra["info_plane"]``
    points get the record's ``seed`` added.

    Raises:
        FormatError: a line that is not JSON, or a file with no information-plane points.
    """
    import json

    from infofusion.errors import FormatError

    points: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"line {i} is not JSON: {exc}", path=path) from None
            if "layer" in obj and "I_TX" in obj:
                points.append(obj)
            elif isinstance(obj.get("extra"), dict) and "info_plane" in obj["extra"]:
                points += [{**p, "seed": obj.get("seed")} for p in obj["extra"]["info_plane"]["points"]]
    if not points:
        raise FormatError("no information-plane points (run `infofusion train --info-plane ...`)", path=path)
    return points
