"""ConvModule with activation checkpointing that leaves BatchNorm statistics as without it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule
from torch import nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def frozen_running_stats(norm: nn.Module | None):
    """Batch statistics are still used, but running statistics are not updated."""
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or not norm.track_running_stats:
        yield
        return
    momentum, tracked = norm.momentum, norm.num_batches_tracked.clone()
    norm.momentum = 0.0  # running = 1 * running + 0 * batch: unchanged
    try:
        yield
    finally:
        norm.momentum = momentum
        norm.num_batches_tracked.copy_(tracked)


def checkpointed(run, *inputs: torch.Tensor, norm: nn.Module | None = None) -> torch.Tensor:
    """``run(*inputs)``, keeping only the inputs for backward.

    The recomputation in backward leaves ``norm``'s running statistics alone, so they are
    updated once per step, as without checkpointing.
    """
    calls = 0

    def segment(*args: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        with frozen_running_stats(norm) if calls > 1 else contextlib.nullcontext():
            return run(*args)

    return checkpoint(segment, *inputs, use_reentrant=False)


class CheckpointConvModule(ConvModule):
    """A ConvModule (same keys) that, while training with ``with_cp``, stores only its input."""

    def __init__(self, *args, with_cp: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor, activate: bool = True, norm: bool = True) -> torch.Tensor:
        if not (self.with_cp and self.training and torch.is_grad_enabled() and x.requires_grad):
            return super().forward(x, activate, norm)
        plain = functools.partial(ConvModule.forward, self, activate=activate, norm=norm)
        return checkpointed(plain, x, norm=self.norm if self.with_norm else None)

    def forward_parts(self, parts: Sequence[torch.Tensor]) -> torch.Tensor:
        """The block on the channel concatenation of ``parts`` (maps of one size). A conv layer
        that takes such a sequence itself (``accepts_parts``, e.g. ``WinogradConv2d``) is
        given it, so the concatenation is never built; otherwise it is."""
        if not getattr(self.conv, "accepts_parts", False) or self.order != ("conv", "norm", "act"):
            return ConvModule.forward(self, torch.cat(list(parts), dim=1))
        x = self.conv(parts)
        if self.with_norm:
            x = self.norm(x)
        return self.activate(x) if self.with_activation else x
