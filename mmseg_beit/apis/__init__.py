"""Public API: configs by name, building a segmentor, running it on images."""

from mmseg_beit.apis.config import enable_tta, load_config
from mmseg_beit.apis.inference import Prediction, load_segmentor, load_weights, segment
from mmseg_beit.utils.configs import find_config, shipped_configs
from mmseg_beit.utils.images import read_image
from mmseg_beit.utils.visualization import colorize, render_overlay

__all__ = [
    "Prediction",
    "colorize",
    "enable_tta",
    "find_config",
    "load_config",
    "load_segmentor",
    "load_weights",
    "read_image",
    "render_overlay",
    "segment",
    "shipped_configs",
]
