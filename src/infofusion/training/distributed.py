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


def wrap(method: nn.Module, device: torch.device) -> nn.Module:
    """DDP-wrap ``method`` when a process group is up, else return it unchanged."""
    _, world = rank_and_world()
    if world <= 1:
        return method
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    # Methods with stages freeze parts or skip branches, so DDP must look for unused parameters
    # (an extra graph traversal per step); others can declare it with ddp_find_unused_parameters.
    find_unused = bool(getattr(method, "ddp_find_unused_parameters", hasattr(method, "stages")))
    return DistributedDataParallel(method, device_ids=ids, find_unused_parameters=find_unused)


def is_main_process() -> bool:
    return rank_and_world()[0] == 0


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
