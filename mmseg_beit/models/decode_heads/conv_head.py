"""Shared part of the convolutional decode heads: ConvModule building and the forward pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from mmseg_beit.models.layers.checkpoint_conv import CheckpointConvModule, checkpointed


class ConvDecodeHead(BaseDecodeHead):
    """A :class:`BaseDecodeHead` whose subclasses define ``_forward_feature`` only.

    Args:
        with_cp: While training, keep only the inputs of each conv block and of the classifier
            and recompute the rest in backward (less memory; BatchNorm statistics unchanged).
        **kwargs: :class:`BaseDecodeHead` arguments (``conv_cfg`` selects the conv layer, e.g.
            ``dict(type='WinogradConv2d')``).
    """

    def __init__(self, *args, with_cp: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.with_cp = with_cp

    def conv(
        self, in_channels: int, out_channels: int, kernel_size: int, **kwargs
    ) -> CheckpointConvModule:
        """ConvModule with "same" padding, the head's conv/norm/act configs and ``with_cp``."""
        kwargs.setdefault("padding", kernel_size // 2 * kwargs.get("dilation", 1))
        return CheckpointConvModule(
            in_channels,
            out_channels,
            kernel_size,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            with_cp=self.with_cp,
            **kwargs,
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-pixel class logits at the resolution of the selected input level."""
        feats = self._forward_feature(inputs)
        if self.with_cp and self.training and feats.requires_grad:
            return checkpointed(self.cls_seg, feats)  # the dropout mask is replayed
        return self.cls_seg(feats)
