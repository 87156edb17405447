"""Evaluation: named metric protocols (classification, MMSA, MAG-BERT, MulT, CH-SIMS)."""

from infofusion.evaluation.metrics import (
    HIGHER_IS_BETTER,
    METRIC_PROTOCOLS,
    PROTOCOLS,
    MetricProtocol,
    compute_metrics,
    get_protocol,
    higher_is_better,
    per_modality_metrics,
    primary_metric,
)

__all__ = [
    "HIGHER_IS_BETTER",
    "METRIC_PROTOCOLS",
    "PROTOCOLS",
    "MetricProtocol",
    "compute_metrics",
    "get_protocol",
    "higher_is_better",
    "per_modality_metrics",
    "primary_metric",
]
