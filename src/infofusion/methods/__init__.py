"""Fusion methods: one module per method, each registered under kind ``"method"``."""

from __future__ import annotations

from infofusion.methods import (  # noqa: F401  (registration)
    agm,
    ensemble,
    ithp,
    joint,
    late,
    mlb,
    mmpareto,
    ogm_ge,
    tfn,
    unimodal,
)
from infofusion.methods.base import FusionMethod

__all__ = ["FusionMethod"]
