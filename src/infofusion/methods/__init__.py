"""Fusion methods: one module per method, each registered under kind ``"method"``."""

from __future__ import annotations

from infofusion.methods import btw, ensemble, ithp, joint, late, tfn, unimodal  # noqa: F401  (registration)
from infofusion.methods.base import FusionMethod

__all__ = ["FusionMethod"]
