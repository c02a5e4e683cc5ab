"""Shared part of the convolutional decode heads: ConvModule building and the forward pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from mmseg_beit.models.layers.checkpoint_conv import CheckpointConvModule, checkpointed
from mmseg_beit.models.utils.precision import autocast, check_autocast, to_channels_last


class ConvDecodeHead(BaseDecodeHead):
    """A :class:`BaseDecodeHead` whose subclasses define ``_forward_feature`` only.

    Args:
        autocast: Run the head in 'bf16' or 'fp16' autocast (logits are returned in fp32).
        channels_last: Run the convolutions on NHWC tensors (faster with some GPU kernels).
        with_cp: While training, keep only the inputs of each conv block and of the classifier
            and recompute the rest in backward (less memory; BatchNorm statistics unchanged).
        **kwargs: :class:`BaseDecodeHead` arguments (``conv_cfg`` selects the conv layer, e.g.
            ``dict(type='WinogradConv2d')`` for faster CPU inference).
    """

    def __init__(
        self,
        *args,
        autocast: str | None = None,
        channels_last: bool = False,
        with_cp: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.autocast = check_autocast(autocast)
        self.channels_last = channels_last
        self.with_cp = with_cp

    def conv(self, in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> ConvModule:
        """ConvModule with "same" padding, the head's conv/norm/act configs and ``with_cp``."""
        kwargs.setdefault("padding", kernel_size // 2 * kwargs.get("dilation", 1))
        module = CheckpointConvModule(
            in_channels,
            out_channels,
            kernel_size,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            **kwargs,
        )
        module.with_cp = self.with_cp
        return module

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-pixel class logits (fp32) at the resolution of the selected input level."""
        with autocast(self.autocast, inputs[0].device.type):
            if self.channels_last:
                inputs = to_channels_last(inputs)
            feats = self._forward_feature(inputs)
            if self.with_cp and self.training and feats.requires_grad:
                logits = checkpointed(self.cls_seg, feats)  # dropout mask is replayed
            else:
                logits = self.cls_seg(feats)
        return logits.float().contiguous()
