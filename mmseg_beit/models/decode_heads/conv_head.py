"""Shared piece of the convolutional decode heads: conv -> norm -> act from the head's configs."""

from __future__ import annotations

from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead


class ConvDecodeHead(BaseDecodeHead):
    """A :class:`BaseDecodeHead` that builds its ConvModules from one place."""

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
