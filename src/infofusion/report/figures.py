"""Saving matplotlib figures the same way everywhere (PNG for viewing, SVG for papers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def save_figure(fig: Any, stem: str | Path, formats: Sequence[str] = ("png", "svg"), dpi: int = 120) -> list[str]:
    """Write ``fig`` as ``<stem>.<fmt>`` for each format, close it, return the paths."""
    import matplotlib.pyplot as plt

    paths = []
    for fmt in formats:
        path = f"{stem}.{fmt}"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    plt.close(fig)
    return paths
