"""High-level API: build a segmentor, run it on images, draw the result."""

from mmseg_beit.apis.allocator import keep_freed_memory
from mmseg_beit.apis.inference import Prediction, load_segmentor, read_image, segment
from mmseg_beit.apis.visualize import colorize, render_overlay

__all__ = [
    "Prediction",
    "colorize",
    "keep_freed_memory",
    "load_segmentor",
    "read_image",
    "render_overlay",
    "segment",
]
