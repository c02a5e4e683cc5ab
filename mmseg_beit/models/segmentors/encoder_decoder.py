"""MMSegmentation's EncoderDecoder with the speed preset, an inference precision and batched
sliding windows."""

from __future__ import annotations

import copy

import torch
from mmengine.config import ConfigDict
from mmseg.models.segmentors import EncoderDecoder as MMSegEncoderDecoder

from mmseg_beit.models.speed import speed_preset
from mmseg_beit.models.utils.precision import autocast, check_precision
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
    """Same model, weights and results as mmseg's EncoderDecoder, plus:

    * ``speed``: the :mod:`mmseg_beit.models.speed` preset ('auto', 'cpu', 'cuda' or 'off')
      for the inference precision, filled into the backbone, decode head and ``test_cfg``
      where the config does not set those options itself;
    * ``test_cfg.precision``: 'fp32' (default), 'bf16' or 'fp16' autocast of inference
      (logits are returned in fp32; training precision is the optimiser wrapper's);
    * ``test_cfg.crop_batch``: sliding-window crops run N at a time (all windows of an image
      have one size; with BatchNorm in eval mode this changes nothing but speed).

    Args:
        speed: Speed preset to apply.
        **kwargs: :class:`mmseg.models.segmentors.EncoderDecoder` arguments.
    """

    def __init__(self, backbone: dict, decode_head: dict, speed: str = "auto", **kwargs) -> None:
        backbone, decode_head = copy.deepcopy(backbone), copy.deepcopy(decode_head)
        test_cfg = ConfigDict(copy.deepcopy(kwargs.pop("test_cfg", None) or {}))
        self.precision = check_precision(test_cfg.get("precision", "fp32"))
        speed_preset(speed, self.precision).apply(backbone, decode_head, test_cfg)
        super().__init__(backbone, decode_head, test_cfg=test_cfg, **kwargs)

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: list[dict]) -> torch.Tensor:
        """Logits (fp32) resized to the input, computed in the inference precision."""
        with autocast(self.precision, inputs.device.type):
            logits = self.decode_head.forward(self.extract_feat(inputs))
        return self.decode_head.predict_by_feat(logits.float(), batch_img_metas)

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
        return logits.div_(counts)
