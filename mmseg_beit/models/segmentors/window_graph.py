"""One window of a segmentor as a plain tensor function: what is exported and run by backends."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mmseg_beit.models.utils.precision import autocast


class WindowGraph(nn.Module):
    """``image`` (N, 3, H, W) float32 RGB 0..255 -> ``logits`` (N, classes, H, W) float32.

    Everything a segmentor does to one window, and nothing around it: the data preprocessor's
    normalisation and padding (to its ``size_divisor``), backbone, neck and decode head, the
    resize to the padded window and the crop back to H x W, exactly as the segmentor's
    whole-image inference. Sliding windows, resizing and multi-scale views stay outside
    (:mod:`mmseg_beit.apis.runtime`), so one exported graph serves any image and window size.

    Args:
        segmentor: An EncoderDecoder (or a SegTTAModel holding one), in eval mode.
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        segmentor = getattr(segmentor, "module", segmentor)
        self.backbone, self.neck = segmentor.backbone, segmentor.neck
        self.decode_head = segmentor.decode_head
        self.align_corners = segmentor.decode_head.align_corners
        self.precision = getattr(segmentor, "precision", "fp32")
        pre = segmentor.data_preprocessor
        self.swap_channels = not pre.channel_conversion  # the model wants BGR: swap ours
        self.divisor = int((pre.test_cfg or {}).get("size_divisor") or 1)
        normalise = getattr(pre, "_enable_normalize", False)
        mean = pre.mean.view(1, -1, 1, 1) if normalise else torch.zeros(1, 3, 1, 1)
        std = pre.std.view(1, -1, 1, 1) if normalise else torch.ones(1, 3, 1, 1)
        self.register_buffer("mean", mean.detach().clone(), False)
        self.register_buffer("std", std.detach().clone(), False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        x = image.flip(1) if self.swap_channels else image
        x = (x - self.mean) / self.std
        d = self.divisor
        x = F.pad(x, (0, (-width) % d, 0, (-height) % d))
        with autocast(self.precision, image.device.type):
            logits = self.decode_head(self.neck(self.backbone(x)))
        logits = F.interpolate(
            logits.float(), size=x.shape[-2:], mode="bilinear", align_corners=self.align_corners
        )
        if torch.compiler.is_exporting():  # slicing would tie the graph to padded or not
            rows, cols = torch.arange(height), torch.arange(width)
            return logits.index_select(2, rows).index_select(3, cols)
        return logits[:, :, :height, :width]
