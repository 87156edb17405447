"""Closed-form redundancy measures for comparison: I_min (Williams & Beer 2010) and MMI.

I_min averages, over target outcomes, the smaller specific information the sources carry about
that outcome; MMI takes the smaller of the two mutual informations. Both over-state redundancy
when the sources carry *different* information about the same outcome (I_min gives 1 bit of
redundancy for COPY), which is why BROJA is the default.
"""

from __future__ import annotations

import numpy as np

from infofusion.measures.pid.base import PIDMeasure
from infofusion.registry import register


def specific_information(pxy: np.ndarray) -> np.ndarray:
    """``I(X; Y=y)`` for every y (nats) from a joint ``(nx, ny)``: shape ``(ny,)``."""
    py = pxy.sum(axis=0)
    px = pxy.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_x_given_y = pxy / np.where(py > 0, py, 1.0)
        p_y_given_x = pxy / np.where(px > 0, px, 1.0)[:, None]
        ratio = np.where(pxy > 0, np.log(p_y_given_x / np.where(py > 0, py, 1.0)), 0.0)
    return (p_x_given_y * ratio).sum(axis=0)


@register("pid", "imin")
class IminPID(PIDMeasure):
    """Williams-Beer I_min redundancy: sum_y p(y) min_i I(X_i; Y=y)."""

    name = "imin"

    def _redundancy(self, p, mi):
        py = p.sum(axis=(0, 1))
        s1 = specific_information(p.sum(axis=1))
        s2 = specific_information(p.sum(axis=0))
        return float((py * np.minimum(s1, s2)).sum()), 0.0, {}


@register("pid", "mmi")
class MMIPID(PIDMeasure):
    """Minimum-mutual-information redundancy: min(I(X1;Y), I(X2;Y))."""

    name = "mmi"

    def _redundancy(self, p, mi):
        return min(mi["I(X1;Y)"], mi["I(X2;Y)"]), 0.0, {}
