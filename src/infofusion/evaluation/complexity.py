"""Cost of a trained model, measured in the same run as its accuracy.

* ``params`` / ``trainable_params``: ``numel`` over every parameter (frozen ones included in
  ``params``), as MultiBench's ``eval_scripts/complexity.py`` counts.
* ``train_s_per_epoch``: mean wall seconds of a training epoch (the trainer's timing).
* ``infer_ms_per_1000``: median over ``repeats`` timed passes (after one warm-up pass) of the
  forward pass over a split, in milliseconds per 1000 samples (``time.perf_counter``; CUDA is
  synchronised before each reading).
* ``peak_rss_mib``: the process's peak resident set size (``resource.getrusage`` ``ru_maxrss``,
  stdlib), a high-water mark over the whole process: it bounds the run's peak from above and
  ``rss_growth_mib`` (its growth during the run) is what the run added beyond earlier runs.
  Python's ``tracemalloc`` is not used: it does not see torch's tensor allocations.
* ``peak_cuda_bytes``: ``torch.cuda.max_memory_allocated`` (reset before the run) on CUDA.

Wall times depend on the machine and its load: compare them only as ratios within one run.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (NaN where ``resource`` is absent)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def count_parameters(module: Any) -> tuple[int, int]:
    """(all parameters, trainable parameters) of an ``nn.Module``."""
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def inference_ms_per_1000(method: Any, data: Any, split: str = "test", batch_size: int = 1024,
                          repeats: int = 5) -> float:
    """Median wall milliseconds per 1000 samples of the forward pass over ``split``.

    Args:
        method: a trained ``FusionMethod`` (eval mode during timing; its mode is restored).
        data: the dataset it was trained on.
        split: the split timed (all of it, in batches of ``batch_size``).
        repeats: timed passes (>= 1) after one warm-up pass.
    """
    import torch

    idx = data.require_split(split, "to time inference on")
    device = next((p.device for p in method.parameters()), torch.device("cpu"))
    batches = [b.to(device) for b in data.batches(split, batch_size)]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    was_training = method.training
    method.eval()
    times = []
    try:
        with torch.no_grad():
            for r in range(max(1, repeats) + 1):
                sync()
                t0 = time.perf_counter()
                for b in batches:
                    method(b)
                sync()
                if r > 0:  # the first pass warms up
                    times.append(time.perf_counter() - t0)
    finally:
        method.train(was_training)
    return statistics.median(times) * 1000.0 * 1000.0 / max(len(idx), 1)


def complexity_record(result: Any, rss_before: float, repeats: int = 5) -> dict[str, float]:
    """Every cost figure of one finished fit (:class:`~infofusion.training.FitResult`).

    Args:
        result: the fit's result (its ``method``, ``data`` and ``timings`` are read).
        rss_before: :func:`peak_rss_mib` taken just before the fit.
        repeats: timed inference passes.
    """
    import torch

    total, trainable = count_parameters(result.method)
    split = "test" if result.data.has_split("test") else ("valid" if result.data.has_split("valid") else "train")
    out = {
        "params": float(total),
        "trainable_params": float(trainable),
        "train_s_per_epoch": float(result.timings.get("train_epoch_mean", float("nan"))),
        "infer_ms_per_1000": inference_ms_per_1000(result.method, result.data, split, repeats=repeats),
        "peak_rss_mib": peak_rss_mib(),
    }
    out["rss_growth_mib"] = max(0.0, out["peak_rss_mib"] - rss_before)
    if torch.cuda.is_available() and any(p.is_cuda for p in result.method.parameters()):
        out["peak_cuda_bytes"] = float(torch.cuda.max_memory_allocated())
    return out
