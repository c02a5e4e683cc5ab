"""Speed settings: one preset per device and precision, as plain options of the segmentor's parts.

The values are what measured fastest on the machines named in ``docs/benchmarks.md`` (re-run
``tools/analysis_tools/benchmark.py --modes settings`` on yours). A segmentor built with
``speed='auto'`` takes the preset of the device it will run on (CUDA when available) and of its
inference precision (``test_cfg.precision``); options set explicitly in a config always win.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mmseg_beit.models.utils.precision import check_precision


@dataclass(frozen=True)
class SpeedPreset:
    """Plain options for a segmentor's parts.

    Attributes:
        winograd: Decode-head 3x3 convolutions through ``WinogradConv2d`` (CPU inference of
            large feature maps in fp32 or bf16).
        winograd_cache: Keep Winograd's transformed kernels between calls (with ``winograd``).
        cache_grids: Token grids whose attention masks the backbone keeps between inference
            calls. Off in every preset: a mask per block and grid (BEiT-B at 512 in fp32:
            605 MB, BEiT-L at 640: 3.9 GB) saves only the copy that builds it from the table
            (``windowed_relative_bias``), a few per cent of the backbone.
        attention: Attention kernel of inference, 'sdpa' (PyTorch's fused kernel with the bias
            as its mask) or 'matmul' (plain matrix products with the bias added by the first).
        crop_batch: Sliding-window crops per forward.
    """

    winograd: bool = False
    winograd_cache: bool = False
    attention: str = "sdpa"
    cache_grids: int = 0
    crop_batch: int = 1

    def apply(self, backbone: dict, decode_head: dict, test_cfg: dict) -> None:
        """Fills these options into the parts' configs where they are not set already."""
        if self.winograd:
            conv = dict(type="mmseg_beit.WinogradConv2d", cache_kernels=self.winograd_cache)
            decode_head.setdefault("conv_cfg", conv)
        backbone.setdefault("attn_kernel", self.attention)
        if backbone.get("rel_pos_bias", True):
            backbone.setdefault("cache_grids", self.cache_grids)
        if test_cfg.get("mode") == "slide":
            test_cfg.setdefault("crop_batch", self.crop_batch)


# CPU, measured on 2026-12-03 (BEiT-B UPerNet at 512, docs/benchmarks.md): Winograd cuts the
# decode head's time in fp32 and under bf16 autocast (its bf16 products err about 1.7x as much
# as a direct bf16 convolution). Its kernel cache makes fp32 faster (memory stays within 1.2x
# mmseg's); in bf16 it cost 100 MB and saved no time, so bf16 transforms the kernels on every
# call. Attention as matrix products beats the fused SDPA kernel with a bias mask in bf16 only.
# GPU entries are PyTorch's defaults until measured on a GPU.
PRESETS: dict[tuple[str, str], SpeedPreset] = {
    ("cpu", "fp32"): SpeedPreset(winograd=True, winograd_cache=True),
    ("cpu", "bf16"): SpeedPreset(winograd=True, attention="matmul"),
    ("cpu", "fp16"): SpeedPreset(),
    ("cuda", "fp32"): SpeedPreset(),
    ("cuda", "bf16"): SpeedPreset(),
    ("cuda", "fp16"): SpeedPreset(),
}
SPEED_CHOICES = ("auto", "cpu", "cuda", "off")


def speed_preset(speed: str, precision: str = "fp32") -> SpeedPreset:
    """The preset for ``speed`` ('auto': CUDA if available else CPU; 'cpu'; 'cuda'; 'off')."""
    if speed not in SPEED_CHOICES:
        raise ValueError(f"speed must be one of {SPEED_CHOICES}, got {speed!r}")
    if speed == "off":
        return SpeedPreset()
    device = speed if speed != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    return PRESETS[(device, check_precision(precision))]
