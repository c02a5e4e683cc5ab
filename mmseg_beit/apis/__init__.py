"""High-level API: build a segmentor, run it on images, draw the result."""

from mmseg_beit.apis.inference import Prediction, load_segmentor, read_image, segment
from mmseg_beit.apis.visualize import colorize, render_overlay

__all__ = ["Prediction", "colorize", "load_segmentor", "read_image", "render_overlay", "segment"]
