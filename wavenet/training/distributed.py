"""Process-group setup for torchrun: one process per GPU (NCCL), or CPU processes (gloo).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them this is a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from wavenet.errors import WavenetError


@dataclass(frozen=True)
class Context:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str) -> Context:
    """Pick the device and, under torchrun, join the process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise WavenetError("train.device is cuda, but no CUDA device is available here")
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Context(rank=rank, world_size=world_size, device=chosen)


def teardown(context: Context) -> None:
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def mean_across(value: torch.Tensor, context: Context) -> torch.Tensor:
    """The mean of a scalar tensor over all processes (itself when alone)."""
    if context.distributed:
        value = value.clone()
        dist.all_reduce(value)
        value /= context.world_size
    return value


def max_across(value: torch.Tensor, context: Context) -> torch.Tensor:
    """The largest of a scalar tensor over all processes (itself when alone)."""
    if context.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return value


def barrier(context: Context) -> None:
    if context.distributed:
        dist.barrier()


def gather_objects(obj: object, context: Context) -> list[object]:
    """Every process's ``obj``, in rank order."""
    if not context.distributed:
        return [obj]
    gathered: list[object] = [None] * context.world_size
    dist.all_gather_object(gathered, obj)
    return gathered
