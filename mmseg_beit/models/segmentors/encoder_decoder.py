"""MMSegmentation's EncoderDecoder with a sliding window that runs several crops per forward."""

from __future__ import annotations

import torch
from mmseg.models.segmentors import EncoderDecoder as MMSegEncoderDecoder

from mmseg_beit.registry import MODELS


def sliding_windows(size: tuple[int, int], crop: tuple[int, int], stride: tuple[int, int]):
    """(y1, y2, x1, x2) of every window, as mmseg places them (the last ones flush right/bottom)."""
    (h, w), (ch, cw), (sh, sw) = size, crop, stride
    for row in range(max(h - ch + sh - 1, 0) // sh + 1):
        for col in range(max(w - cw + sw - 1, 0) // sw + 1):
            y2, x2 = min(row * sh + ch, h), min(col * sw + cw, w)
            yield max(y2 - ch, 0), y2, max(x2 - cw, 0), x2


@MODELS.register_module()
class EncoderDecoder(MMSegEncoderDecoder):
    """Same model and results as mmseg's; ``test_cfg.crop_batch`` crops go through at once.

    All windows of an image have the same size, so they stack into one batch; with batch-norm in
    eval mode this changes nothing but speed. ``crop_batch=1`` (the default) is mmseg's loop.
    """

    def slide_inference(self, inputs: torch.Tensor, batch_img_metas: list[dict]) -> torch.Tensor:
        crop_batch = max(1, int(self.test_cfg.get("crop_batch", 1)))
        batch, _, h, w = inputs.shape
        windows = list(sliding_windows((h, w), self.test_cfg.crop_size, self.test_cfg.stride))
        logits = inputs.new_zeros((batch, self.out_channels, h, w))
        counts = inputs.new_zeros((batch, 1, h, w))
        for start in range(0, len(windows), crop_batch):
            chunk = windows[start : start + crop_batch]
            crops = torch.cat([inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in chunk])
            metas = [dict(batch_img_metas[0], img_shape=crops.shape[2:])] * crops.shape[0]
            crop_logits = self.encode_decode(crops, metas).split(batch)
            for (y1, y2, x1, x2), crop_logit in zip(chunk, crop_logits):
                logits[:, :, y1:y2, x1:x2] += crop_logit
                counts[:, :, y1:y2, x1:x2] += 1
        return logits / counts
