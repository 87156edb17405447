"""Cost of a trained model, measured in the same run as its accuracy.

* ``params`` / ``trainable_params``: ``numel`` over every parameter (frozen ones included in
  ``params``), as MultiBench's ``eval_scripts/complexity.py`` counts.
* ``train_s_per_epoch``: mean wall seconds of a training epoch (the trainer's timing).
* ``infer_ms_per_1000``: median over ``repeats`` timed passes (after one warm-up pass) of the
  forward pass over a split, in milliseconds per 1000 samples (``time.perf_counter``; CUDA is
  synchronised before each reading).
* ``peak_rss_mib``: peak resident set size of the process *during the run*, host memory. On
  Linux the kernel's high-water mark ``VmHWM`` is reset before the run (writing ``5`` to
  ``/proc/self/clear_refs``) and read from ``/proc/self/status`` after it
  (``rss_scope`` = 1 in the record). Where that is not possible the standard library's
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is used: the peak of the whole process so far,
  an upper bound for the run (``rss_scope`` = 0). ``rss_growth_mib`` is the peak minus the
  resident size at the start of the run: what the run added on top of what was already
  resident (the interpreter, torch, the dataset). Python's ``tracemalloc`` is not used: it does
  not see torch's tensor allocations.
* ``peak_cuda_bytes``: ``torch.cuda.max_memory_allocated`` (reset before the run) on CUDA.

Wall times depend on the machine and its load: compare them only as ratios within one run.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any


def _status_kib(field: str) -> float | None:
    """A ``kB`` field of ``/proc/self/status`` (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); True when it worked,
    so that :func:`peak_rss_mib` then reports the peak since this call."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return _status_kib("VmHWM") is not None
    except OSError:
        return False


def current_rss_mib() -> float:
    """Resident set size now, MiB (NaN where ``/proc`` is absent)."""
    kib = _status_kib("VmRSS")
    return float("nan") if kib is None else kib / 1024


def peak_rss_mib() -> float:
    """Peak resident set size, MiB: since the last :func:`reset_peak_rss` on Linux, else the
    process's peak so far (``ru_maxrss``; NaN where ``resource`` is absent)."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib / 1024
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def start_memory_window() -> tuple[float, bool]:
    """Call just before a run: (resident MiB now, whether the peak mark was reset)."""
    reset = reset_peak_rss()
    now = current_rss_mib()
    return (now if now == now else peak_rss_mib()), reset


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


def complexity_record(result: Any, window: tuple[float, bool], repeats: int = 5) -> dict[str, float]:
    """Every cost figure of one finished fit (:class:`~infofusion.training.FitResult`).

    Args:
        result: the fit's result (its ``method``, ``data`` and ``timings`` are read).
        window: :func:`start_memory_window` taken just before the fit.
        repeats: timed inference passes.
    """
    rss_before, reset = window
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
    out["rss_scope"] = 1.0 if reset else 0.0  # 1: peak of this run; 0: of the process so far
    if torch.cuda.is_available() and any(p.is_cuda for p in result.method.parameters()):
        out["peak_cuda_bytes"] = float(torch.cuda.max_memory_allocated())
    return out
