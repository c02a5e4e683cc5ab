"""FCN head: a stack of convolutions on one level (the auxiliary head of BEiT UPerNet)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from mmseg_beit.models.decode_heads.conv_head import ConvDecodeHead
from mmseg_beit.registry import MODELS


@MODELS.register_module()
class FCNHead(ConvDecodeHead):
    """`FCN <https://arxiv.org/abs/1411.4038>`_ head (MMSegmentation key layout).

    Args:
        num_convs: Convolutions before the classifier (0 keeps the input; needs
            ``in_channels == channels``).
        kernel_size: Their kernel size.
        concat_input: Concatenate the input with the conv output and fuse with ``conv_cat``.
        dilation: Dilation of the convolutions.
        **kwargs: :class:`mmseg.models.decode_heads.decode_head.BaseDecodeHead` arguments.
    """

    def __init__(
        self,
        num_convs: int = 2,
        kernel_size: int = 3,
        concat_input: bool = True,
        dilation: int = 1,
        **kwargs,
    ) -> None:
        if num_convs < 0 or dilation < 1:
            raise ValueError(f"need num_convs >= 0 and dilation >= 1, got {num_convs}, {dilation}")
        # mmseg's FCNHead attributes, which code written for mmseg reads.
        self.num_convs = num_convs
        self.concat_input = concat_input
        self.kernel_size = kernel_size
        super().__init__(**kwargs)
        if num_convs == 0 and self.in_channels != self.channels:
            raise ValueError("num_convs=0 needs in_channels == channels")
        widths = [self.in_channels] + [self.channels] * num_convs
        convs = [
            self.conv(c_in, c_out, kernel_size, dilation=dilation)
            for c_in, c_out in itertools.pairwise(widths)
        ]
        self.convs = nn.Sequential(*convs) if convs else nn.Identity()
        if concat_input:  # as in mmseg, no conv_cat attribute at all otherwise
            self.conv_cat = self.conv(self.in_channels + self.channels, self.channels, kernel_size)

    def _forward_feature(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        feats = self.convs(x)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats
