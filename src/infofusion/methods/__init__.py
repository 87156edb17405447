"""Fusion methods: one module per method, each registered under kind ``"method"``."""

from __future__ import annotations

from infofusion.methods import ensemble, ithp, joint, late, tfn, unimodal  # noqa: F401  (registration)
from infofusion.methods import agm, mlb, mmpareto, ogm_ge  # noqa: F401  (registration)
from infofusion.methods.base import FusionMethod

__all__ = ["FusionMethod"]
