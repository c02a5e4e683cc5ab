"""Sliding windows and multi-scale views around a window function, for every backend.

The window function (:class:`~mmseg_beit.models.segmentors.window_graph.WindowGraph` in
PyTorch, or the same graph exported and run by onnxruntime) maps RGB windows to logits; this
module places the windows, adds up their logits, undoes padding and flips, resizes to the
image and averages the views' probabilities, exactly as MMSegmentation's test mode does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mmseg_beit.models.segmentors.encoder_decoder import sliding_windows

WindowFn = Callable[[torch.Tensor], torch.Tensor]  # (N, 3, h, w) RGB 0..255 -> (N, C, h, w)


@dataclass(frozen=True)
class WindowSettings:
    """How a segmentor runs over an image (from its ``test_cfg`` and data preprocessor)."""

    mode: str = "whole"
    crop_size: tuple[int, int] = (640, 640)
    stride: tuple[int, int] = (426, 426)
    crop_batch: int = 1
    divisor: int = 16
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    align_corners: bool = False

    @classmethod
    def of(cls, cfg_model: dict, test_cfg: dict | None = None) -> WindowSettings:
        """The settings of a segmentor config (the segmentor inside a TTA model); ``test_cfg``:
        the built segmentor's, with the speed preset's options filled in."""
        model = cfg_model.get("module", cfg_model) if "module" in cfg_model else cfg_model
        test_cfg = test_cfg or model.get("test_cfg") or {}
        pre = model.get("data_preprocessor") or {}
        mean = list(pre.get("mean") or [0.0, 0.0, 0.0])
        if not pre.get("bgr_to_rgb", False):
            mean = mean[::-1]  # the model sees BGR: the mean of our RGB channels is reversed
        return cls(
            mode=test_cfg.get("mode", "whole"),
            crop_size=tuple(test_cfg.get("crop_size", (640, 640))),
            stride=tuple(test_cfg.get("stride", (426, 426))),
            crop_batch=int(test_cfg.get("crop_batch", 1)),
            divisor=int((pre.get("test_cfg") or {}).get("size_divisor") or 1),
            mean=tuple(float(m) for m in mean),
            align_corners=bool(model.decode_head.get("align_corners", False)),
        )


def image_logits(image: torch.Tensor, window: WindowFn, settings: WindowSettings) -> torch.Tensor:
    """(1, 3, H, W) RGB -> (1, C, H, W) logits: one window, or sliding windows over the image
    padded (with the mean colour, i.e. zero after normalisation) to the size divisor."""
    if settings.mode != "slide":
        return window(image)
    height, width = image.shape[-2:]
    d = settings.divisor
    padded = F.pad(image, (0, (-width) % d, 0, (-height) % d), value=0.0)
    mean = torch.tensor(settings.mean, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    padded[..., height:, :] = mean
    padded[..., :, width:] = mean
    size = padded.shape[-2:]
    windows = list(sliding_windows(tuple(size), settings.crop_size, settings.stride))
    logits, counts = None, padded.new_zeros((1, 1, *size))
    for start in range(0, len(windows), max(1, settings.crop_batch)):
        chunk = windows[start : start + max(1, settings.crop_batch)]
        crops = torch.cat([padded[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in chunk])
        for (y1, y2, x1, x2), crop_logits in zip(chunk, window(crops).split(1)):
            if logits is None:
                logits = crop_logits.new_zeros((1, crop_logits.shape[1], *size))
            logits[:, :, y1:y2, x1:x2] += crop_logits
            counts[:, :, y1:y2, x1:x2] += 1
    return logits.div_(counts)[:, :, :height, :width]


def view_logits(
    inputs: torch.Tensor,
    window: WindowFn,
    settings: WindowSettings,
    device: torch.device | str = "cpu",
    meta: dict | None = None,
) -> torch.Tensor:
    """Logits (C, h, w) of one pipeline view at the size the pipeline gave it, flip undone.

    Args:
        inputs: The view as the test pipeline packs it: (3, h, w) BGR uint8.
        window: The window function.
        settings: How windows are placed.
        device: Where the window function runs.
        meta: Its metainfo (``flip``, ``flip_direction``).
    """
    image = inputs.to(device)[[2, 1, 0]].float().unsqueeze(0)
    logits = image_logits(image, window, settings)
    if (meta or {}).get("flip"):
        horizontal = meta.get("flip_direction", "horizontal") == "horizontal"
        logits = logits.flip(-1 if horizontal else -2)
    return logits[0]


def view_probs(
    inputs: torch.Tensor,
    meta: dict,
    window: WindowFn,
    settings: WindowSettings,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Probabilities (C, H, W) of one pipeline view at the image's original size (``meta``:
    its metainfo, ``ori_shape`` and flip); see :func:`view_logits`."""
    logits = view_logits(inputs, window, settings, device, meta)
    return full_size_probs(logits, tuple(meta["ori_shape"]), settings.align_corners)


def full_size_probs(logits: torch.Tensor, size: tuple[int, int], align_corners: bool):
    """(C, h, w) logits -> (C, H, W) probabilities: bilinear resize, then softmax."""
    logits = F.interpolate(logits[None], size=size, mode="bilinear", align_corners=align_corners)
    return logits[0].softmax(dim=0)


def image_probs(
    item: dict, window: WindowFn, settings: WindowSettings, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Mean probabilities over the views of one pipeline item (one view, or TestTimeAug's)."""
    inputs, samples = item["inputs"], item["data_samples"]
    if isinstance(inputs, torch.Tensor):
        inputs, samples = [inputs], [samples]
    probs = None
    for view, sample in zip(inputs, samples):
        p = view_probs(view, sample.metainfo, window, settings, device)
        probs = p if probs is None else probs.add_(p)
    return probs / len(inputs)
