"""Shared part of the convolutional decode heads: ConvModule building and the forward pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from mmseg_beit.models.utils.precision import autocast, check_autocast, to_channels_last


class ConvDecodeHead(BaseDecodeHead):
    """A :class:`BaseDecodeHead` whose subclasses define ``_forward_feature`` only.

    Args:
        autocast: Run the head in 'bf16' or 'fp16' autocast (logits are returned in fp32).
        channels_last: Run the convolutions on NHWC tensors (faster with some GPU kernels).
        **kwargs: :class:`BaseDecodeHead` arguments (``conv_cfg`` selects the conv layer, e.g.
            ``dict(type='WinogradConv2d')`` for faster CPU inference).
    """

    def __init__(self, *args, autocast: str | None = None, channels_last: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.autocast = check_autocast(autocast)
        self.channels_last = channels_last

    def conv(self, in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> ConvModule:
        """ConvModule with "same" padding and the head's conv/norm/act configs."""
        kwargs.setdefault("padding", kernel_size // 2 * kwargs.get("dilation", 1))
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            **kwargs,
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-pixel class logits (fp32) at the resolution of the selected input level."""
        with autocast(self.autocast, inputs[0].device.type):
            if self.channels_last:
                inputs = to_channels_last(inputs)
            logits = self.cls_seg(self._forward_feature(inputs))
        return logits.float().contiguous()
