"""Saving matplotlib figures the same way everywhere (PNG for viewing, SVG for papers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def save_figure(fig: Any, stem: str | Path, formats: Sequence[str] = ("png", "svg"), dpi: int = 120) -> list[str]:
    """Write ``fig`` as ``<stem>.<fmt>`` for each format and return the paths.

    Figures built as ``matplotlib.figure.Figure`` (as every plot of this package is) need no
    backend and no pyplot; a figure that pyplot manages is closed afterwards.
    """
    paths = []
    for fmt in formats:
        path = f"{stem}.{fmt}"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    if getattr(fig.canvas, "manager", None) is not None:  # created through pyplot
        import matplotlib.pyplot as plt

        plt.close(fig)
    return paths
