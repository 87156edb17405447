"""The interaction profile of a dataset: atoms with uncertainty, per-sample composition and,
for three or more modalities, the summaries of :mod:`.multi`. Computation only: loading,
writing records, printing and plotting live in :func:`infofusion.api.analyze`,
:mod:`infofusion.report.pid` and the CLI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from infofusion.errors import ConfigError

#: what ``estimator="auto"`` resolves to (:func:`resolve_estimator`): the most accurate path on
#: the synthetic suite (``benchmarks/pid_continuous.py``, docs/measures/pid.md) -- the plug-in
#: estimator when both modalities take few distinct values (it is then exact up to sampling
#: error), the batch neural estimator for continuous classification data, the plug-in
#: estimator otherwise (the neural one needs classes)
DEFAULT_ESTIMATOR = "auto"


def resolve_estimator(dataset: Any, modalities: tuple[str, str], exact_max: int = 64) -> str:
    """The estimator ``"auto"`` means for this dataset (see :data:`DEFAULT_ESTIMATOR`)."""
    import numpy as np

    from infofusion.measures.classifiers import modality_features

    discrete = all(
        len(np.unique(modality_features(dataset, m), axis=0)) <= exact_max for m in modalities
    )
    if discrete or dataset.task != "classification":
        return "plugin"
    splits = dataset.splits
    return "batch" if ("test" in splits or "valid" in splits) else "plugin"


@dataclass
class Analysis:
    """What :func:`analyze_dataset` computed.

    Attributes:
        estimate: :class:`~.estimate.PIDEstimate` of the two modalities.
        modalities: the two modalities decomposed.
        estimator: registry name of the estimator; options: its parameters.
        pointwise: :class:`~infofusion.measures.pointwise.PointwiseResult` or None.
        multi: the M >= 3 summary of :func:`~.multi.multi_pid` or None.
        timings: seconds per step.
        notes: what was skipped and why.
    """

    estimate: Any
    modalities: tuple[str, str]
    estimator: str
    options: dict[str, Any]
    pointwise: Any | None = None
    multi: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def analyze_dataset(
    dataset: Any,
    *,
    modalities: tuple[str, str] | None = None,
    estimator: str = "auto",
    options: dict[str, Any] | None = None,
    pointwise: bool = True,
    pointwise_model: str = "mlp",
    multi: bool = True,
    seed: int = 0,
    target_bins: int = 5,
) -> Analysis:
    """Atoms of two modalities with uncertainty, per-sample composition and M >= 3 summaries.

    Args:
        dataset: a :class:`~infofusion.data.MultimodalDataset`.
        modalities: the two modalities to decompose (default: the first two).
        estimator: registry name of a dataset-level estimator, or ``"auto"``
            (:func:`resolve_estimator`).
        options: the estimator's options (e.g. ``{"k": 10, "n_boot": 100}`` for ``plugin``).
        pointwise: also compute the per-sample composition (held-out samples).
        pointwise_model: ``"mlp"`` or ``"logistic"``.
        multi: for three or more modalities, add :func:`~.multi.multi_pid` (clustered labels).
        seed: seed of every random choice (passed to the estimator unless it has one).
        target_bins: quantile bins of a regression target.

    Returns:
        :class:`Analysis`.

    Raises:
        ConfigError: unknown estimator or option, invalid modalities or values.
    """
    from infofusion.measures.pid.estimators import PIDEstimator, PluginPID, create_estimator

    names = PIDEstimator.pair(dataset, modalities)
    name = resolve_estimator(dataset, names) if estimator == "auto" else estimator
    opts = dict(options or {})
    opts.setdefault("seed", seed)
    if name == "plugin":
        opts.setdefault("target_bins", target_bins)
    est_obj = create_estimator(name, **opts)
    if pointwise_model not in ("mlp", "logistic"):
        raise ConfigError(f"pointwise_model must be 'mlp' or 'logistic', got {pointwise_model!r}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    est = est_obj.estimate(dataset, names)
    timings["estimate"] = time.perf_counter() - t0
    pw = None
    notes: list[str] = list(est.extra.get("warnings", []))  # what the estimator found doubtful
    if pointwise and not ({"test", "valid"} & set(dataset.splits)):
        pointwise = False  # it scores held-out samples only
        notes.append("per-sample composition skipped: the dataset has no test or valid split")
    if pointwise:
        from infofusion.measures.pointwise import pointwise_composition

        t0 = time.perf_counter()
        pw = pointwise_composition(dataset, names, model=pointwise_model, seed=seed, target_bins=target_bins)
        timings["pointwise"] = time.perf_counter() - t0
    summary = None
    if multi and len(dataset.names) >= 3:
        from infofusion.measures.pid.multi import multi_pid

        t0 = time.perf_counter()
        plug = est_obj if isinstance(est_obj, PluginPID) else PluginPID(seed=seed, target_bins=target_bins)
        disc, y, _ = plug.discretize_all(dataset, tuple(dataset.names))
        rows = plug.rows(dataset)
        summary = multi_pid({m: d.labels[rows] for m, d in disc.items()}, y[rows], measure=plug.measure)
        timings["multi"] = time.perf_counter() - t0
    return Analysis(
        estimate=est, modalities=names, estimator=name, options=est_obj.parameters(),
        pointwise=pw, multi=summary, timings=timings, notes=notes,
    )
