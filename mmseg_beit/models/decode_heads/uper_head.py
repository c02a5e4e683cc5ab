"""UPerNet head: pyramid pooling on the coarsest level plus a top-down FPN, fused at stride 4."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mmseg_beit.models.decode_heads.conv_head import ConvDecodeHead
from mmseg_beit.models.layers.adaptive_pool import AdaptiveAvgPool2d
from mmseg_beit.models.layers.checkpoint_conv import checkpointed
from mmseg_beit.registry import MODELS


@MODELS.register_module()
class UPerHead(ConvDecodeHead):
    """`UPerNet <https://arxiv.org/abs/1807.10221>`_ decode head (MMSegmentation key layout).

    Args:
        pool_scales: Output sizes of the pyramid pooling module.
        **kwargs: :class:`mmseg.models.decode_heads.decode_head.BaseDecodeHead` arguments;
            ``in_channels`` lists every pyramid level, finest first.
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 2, 3, 6), **kwargs) -> None:
        super().__init__(input_transform="multiple_select", **kwargs)
        top = self.in_channels[-1]
        # Pyramid pooling (mmseg's PPM keys): pool to s x s, 1x1 conv, back to the input size.
        self.psp_modules = nn.ModuleList(
            nn.Sequential(AdaptiveAvgPool2d(scale), self.conv(top, self.channels, 1))
            for scale in pool_scales
        )
        self.bottleneck = self.conv(top + len(pool_scales) * self.channels, self.channels, 3)
        self.lateral_convs = nn.ModuleList(
            self.conv(c, self.channels, 1, inplace=False) for c in self.in_channels[:-1]
        )
        self.fpn_convs = nn.ModuleList(
            self.conv(self.channels, self.channels, 3, inplace=False) for _ in self.in_channels[:-1]
        )
        self.fpn_bottleneck = self.conv(len(self.in_channels) * self.channels, self.channels, 3)

    def _resize(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Fuses the pyramid into one (B, channels, H/4, W/4) map."""
        inputs = self._transform_inputs(inputs)
        top = inputs[-1]
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        pooled = [self._resize(ppm(top), top.shape[2:]) for ppm in self.psp_modules]
        laterals.append(self.bottleneck(torch.cat([top, *pooled], dim=1)))
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + self._resize(laterals[i], laterals[i - 1].shape[2:])
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals)] + [laterals[-1]]
        if self.with_cp and self.training and outs[0].requires_grad:
            # Keep the four maps, not their 4x wider upsampled concatenation.
            return checkpointed(self._fuse, *outs, norm=self.fpn_bottleneck.norm)
        return self._fuse(*outs)

    def _fuse(self, *outs: torch.Tensor) -> torch.Tensor:
        """Upsamples every level to the finest, concatenates, applies ``fpn_bottleneck``."""
        size = outs[0].shape[2:]
        # forward_parts, not forward: already inside a checkpoint when training with with_cp.
        parts = [outs[0], *(self._resize(x, size) for x in outs[1:])]
        return self.fpn_bottleneck.forward_parts(parts)
