"""Evaluation: named metric protocols (classification, MMSA, MAG-BERT, MulT, CH-SIMS)."""

from infofusion.evaluation.metrics import (
    HIGHER_IS_BETTER,
    PROTOCOLS,
    compute_metrics,
    higher_is_better,
    per_modality_metrics,
    primary_metric,
)

__all__ = [
    "HIGHER_IS_BETTER",
    "PROTOCOLS",
    "compute_metrics",
    "higher_is_better",
    "per_modality_metrics",
    "primary_metric",
]
