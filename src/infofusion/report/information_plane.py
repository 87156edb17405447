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


def plot_information_plane(
    points: Iterable[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "ITHP information plane",
    x_key: str = "rate",
    formats: tuple[str, ...] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Draw the trajectory of every link and save it as PNG and SVG.

    Args:
        points: records with ``epoch``, ``link``, ``recon``, ``x_key`` (and ``detector``).
        path: output path; its suffix is replaced by each of ``formats``.
        title: figure title.
        x_key: compression measure on the x-axis (``rate``: KL summed over latent dims, nats;
            ``kl``: the per-dimension mean used in the loss).
        formats: file formats written.
        dpi: resolution of raster formats.

    Returns:
        The written files.

    Raises:
        ValueError: there are no points to draw.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    series = _series(points, x_key)
    if not series:
        raise ValueError("no information-plane points to plot")
    fig = Figure(figsize=(5.5, 4.2))  # no pyplot state, no backend switch
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
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        out = base.with_suffix("." + fmt)
        fig.savefig(out, dpi=dpi)
        written.append(out)
    return written
