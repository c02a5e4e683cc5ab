"""Adaptive average pooling that exports for any input size."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _bounds(size: int, cells: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end (exclusive) of each of ``cells`` cells over ``size``, as PyTorch pools."""
    i = torch.arange(cells, device=device)
    return (i * size) // cells, ((i + 1) * size + cells - 1) // cells


def adaptive_avg_pool2d_by_sums(x: torch.Tensor, output_size: int) -> torch.Tensor:
    """``F.adaptive_avg_pool2d`` from an integral image: no size-dependent constants, so one
    exported graph pools inputs of every size (PyTorch's export bakes the cells' indices in)."""
    h, w = x.shape[-2:]
    sums = F.pad(x.cumsum(-2).cumsum(-1), (1, 0, 1, 0))
    y0, y1 = _bounds(h, output_size, x.device)
    x0, x1 = _bounds(w, output_size, x.device)

    def corner(ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        return sums.index_select(-2, ys).index_select(-1, xs)

    total = corner(y1, x1) - corner(y0, x1) - corner(y1, x0) + corner(y0, x0)
    area = (y1 - y0).view(-1, 1) * (x1 - x0).view(1, -1)
    return total / area.to(x.dtype)


class AdaptiveAvgPool2d(nn.AdaptiveAvgPool2d):
    """PyTorch's pooling, and :func:`adaptive_avg_pool2d_by_sums` while a graph is exported."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_exporting():
            return adaptive_avg_pool2d_by_sums(x, self.output_size)
        return super().forward(x)
