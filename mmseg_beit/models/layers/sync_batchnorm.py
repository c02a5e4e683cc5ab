"""SyncBN whose statistics are also synchronised between CPU processes (gloo)."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.nn.functional import all_reduce

from mmseg_beit.registry import MODELS


@MODELS.register_module(name="SyncBN")
class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """``torch.nn.SyncBatchNorm`` (same keys and numbers) that also works on CPU processes.

    PyTorch's implementation has GPU kernels only, and DDP refuses its layers in CPU modules.
    On CPU, while training in a process group of several ranks, batch mean and variance are
    summed over the ranks with a differentiable all-reduce, so every rank normalises with, and
    keeps running statistics of, the whole batch (the BEiT-L recipe's 8 processes x 1 image).
    Everywhere else this is PyTorch's SyncBatchNorm.

    Args:
        num_features: Channels.
        eps: Added to the variance.
        momentum: Running-statistics factor (None: cumulative average).
        affine: Learnable scale and shift.
        track_running_stats: Keep running statistics.
        process_group: Ranks to synchronise (default: all).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.process_group = process_group

    # PyTorch's forward is used as is off the CPU; it needs this helper of its class.
    _check_non_zero_input_channels = nn.SyncBatchNorm._check_non_zero_input_channels

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        group = self.process_group or (dist.group.WORLD if dist.is_initialized() else None)
        if (
            input.device.type != "cpu"
            or not self.training
            or group is None
            or dist.get_world_size(group) == 1
        ):
            return nn.SyncBatchNorm.forward(self, input)
        self._check_input_dim(input)
        dtype, input = input.dtype, input.float()  # statistics in fp32, also under autocast
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        count = all_reduce(input.new_tensor([input.numel() / input.shape[1]]), group=group)
        mean = all_reduce(input.sum(dims), group=group) / count
        centred = input - mean.view(shape)
        var = all_reduce(centred.square().sum(dims), group=group) / count
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), count.item())
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: float) -> None:
        self.num_batches_tracked.add_(1)
        factor = self.momentum
        if factor is None:  # cumulative moving average
            factor = 1.0 / self.num_batches_tracked.item()
        unbiased = var * count / max(count - 1.0, 1.0)
        self.running_mean.lerp_(mean, factor)
        self.running_var.lerp_(unbiased, factor)
