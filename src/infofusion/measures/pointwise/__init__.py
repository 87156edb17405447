"""Per-sample (pointwise) information measures and interaction composition."""

from infofusion.measures.pointwise.composition import (
    ATOM_TYPES,
    PointwiseResult,
    agreement_rate,
    pointwise_atoms,
    pointwise_composition,
)

__all__ = [
    "ATOM_TYPES",
    "PointwiseResult",
    "agreement_rate",
    "pointwise_atoms",
    "pointwise_composition",
]
