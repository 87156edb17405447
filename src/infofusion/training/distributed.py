"""torch.distributed glue: DistributedDataParallel when launched by ``torchrun``.

``torchrun --nproc_per_node 2 -m infofusion.cli.main train ...`` sets ``WORLD_SIZE``/``RANK``;
the trainer then initialises the default process group (gloo on CPU, nccl on CUDA), wraps the
method in DDP and gives each process an equal slice of every global batch, so the averaged
gradient equals the single-process gradient of the same global batch.
"""

from __future__ import annotations

import os

import torch
from torch import nn

REDUCE_OPS = ("sum", "mean", "max", "min")


def is_launched() -> bool:
    """True when started by torchrun (or another launcher setting WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_if_launched() -> None:
    import torch.distributed as dist

    if is_launched() and dist.is_available() and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)


def rank_and_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def wrap(method: nn.Module, device: torch.device, find_unused_parameters: bool = False) -> nn.Module:
    """DDP-wrap ``method`` when a process group is up, else return it unchanged.

    DDP registers the parameters that require gradients *now* and broadcasts every parameter
    and buffer from rank 0, so the engine wraps anew whenever the trainable set changes (at
    each stage start): a part frozen at construction and unfrozen later is then synchronised
    and its gradients are averaged. ``find_unused_parameters`` is needed when a forward pass
    leaves some trainable parameter without a gradient (one extra graph traversal per step).
    """
    _, world = rank_and_world()
    if world <= 1:
        return method
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(method, device_ids=ids, find_unused_parameters=find_unused_parameters)


def is_main_process() -> bool:
    return rank_and_world()[0] == 0


def all_reduce(stats: dict[str, torch.Tensor], op: str = "sum") -> dict[str, torch.Tensor]:
    """Reduce every tensor of ``stats`` elementwise across processes; identity in one process.

    A collective: every process must call it at the same point with the same keys and shapes.
    One communication per dtype (the tensors are flattened into one buffer).

    Args:
        stats: name -> tensor (any shape, on the process group's device).
        op: ``sum``, ``mean`` (sum / world size; floating tensors), ``max`` or ``min``.

    Returns:
        name -> reduced tensor (new tensors, same shapes and dtypes; the input dict itself in
        one process).
    """
    if op not in REDUCE_OPS:
        from infofusion.errors import ConfigError

        raise ConfigError(f"all_reduce op '{op}' is unknown (choose from {', '.join(REDUCE_OPS)})")
    _, world = rank_and_world()
    if world <= 1 or not stats:
        return stats
    import torch.distributed as dist

    reduce_op = {"sum": dist.ReduceOp.SUM, "mean": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX,
                 "min": dist.ReduceOp.MIN}[op]
    keys = sorted(stats)
    out: dict[str, torch.Tensor] = {}
    by_dtype: dict[torch.dtype, list[str]] = {}
    for k in keys:
        by_dtype.setdefault(stats[k].dtype, []).append(k)
    for dtype, names in by_dtype.items():
        if op == "mean" and not dtype.is_floating_point:
            from infofusion.errors import ConfigError

            raise ConfigError(f"all_reduce op 'mean' needs floating tensors; '{names[0]}' is {dtype}")
        flat = torch.cat([stats[k].detach().reshape(-1) for k in names])
        dist.all_reduce(flat, op=reduce_op)
        if op == "mean":
            flat = flat / world
        for k, part in zip(names, flat.split([stats[k].numel() for k in names]), strict=True):
            out[k] = part.reshape(stats[k].shape)
    return {k: out[k] for k in stats}


def average_across_processes(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Mean of each scalar over processes (identity without a process group), so logged epoch
    losses are global, not one rank's share."""
    _, world = rank_and_world()
    if world <= 1 or not values:
        return values
    import torch.distributed as dist

    keys = sorted(values)
    stacked = torch.stack([torch.as_tensor(values[k], dtype=torch.float64).reshape(()) for k in keys])
    dist.all_reduce(stacked)
    return {k: v / world for k, v in zip(keys, stacked, strict=False)}
