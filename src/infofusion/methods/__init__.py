"""Fusion methods: one module per method, each registered under kind ``"method"``."""

from __future__ import annotations

from infofusion.methods import (  # noqa: F401  (registration)
    agm,
    btw,
    dmil,
    ensemble,
    i2m2,
    ithp,
    joint,
    late,
    lmf,
    mcr,
    mlb,
    mmib,
    mmpareto,
    ogm_ge,
    qmf,
    tfn,
    unimodal,
)
from infofusion.methods.base import FusionMethod

__all__ = ["FusionMethod"]
