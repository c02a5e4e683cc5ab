"""Pictures of label maps: colour overlays with a legend of the classes present."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def colorize(labels: np.ndarray, palette: Sequence[Sequence[int]], ignore: int = 255) -> np.ndarray:
    """An RGB image of a (H, W) class-index map; ``ignore`` pixels are black."""
    table = np.zeros((256, 3), np.uint8)
    table[: len(palette)] = np.asarray(palette, np.uint8)[:256]
    table[ignore] = 0
    return table[labels.astype(np.int64).clip(0, 255)]


def _legend(
    ids: Sequence[int], classes: Sequence[str], palette: Sequence[Sequence[int]], height: int
) -> np.ndarray:
    row, width = 18, 10 + 8 * max([len(classes[i]) for i in ids] + [6]) + 26
    panel = np.full((max(height, row * len(ids) + 8), width, 3), 255, np.uint8)
    for n, i in enumerate(ids):
        y = 6 + n * row
        cv2.rectangle(panel, (6, y), (20, y + 12), tuple(int(c) for c in palette[i]), -1)
        cv2.putText(panel, classes[i], (26, y + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return panel[:height] if panel.shape[0] > height else panel


def render_overlay(
    image_rgb: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    opacity: float = 0.5,
    legend: bool = True,
) -> np.ndarray:
    """Blends the colourised labels over an RGB image; appends a legend of classes present.

    Args:
        image_rgb: (H, W, 3) uint8 image.
        labels: (H, W) class indices (255 = ignore, left uncoloured).
        classes: Class names, indexed like ``labels``.
        palette: RGB colour per class.
        opacity: Weight of the label colours.
        legend: Append a legend panel to the right.

    Returns:
        (H, W [+ legend], 3) uint8 RGB picture.
    """
    colours = colorize(labels, palette)
    valid = (labels != 255)[..., None]
    blend = image_rgb * (1 - opacity) + colours * opacity
    picture = np.where(valid, blend, image_rgb).astype(np.uint8)
    if not legend:
        return picture
    present = [int(i) for i in np.unique(labels) if i < len(classes)]
    if not present:
        return picture
    height = picture.shape[0]
    return np.concatenate([picture, _legend(present, classes, palette, height)], axis=1)
