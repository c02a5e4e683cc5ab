"""A small, learnable, ADE20K-layout dataset generated from a seed (for demos and tests).

Layout: ``images/{training,validation}/toy_NNNNN.jpg`` and ``annotations/.../toy_NNNNN.png``;
labels are single-channel, 0 = ignore ("other"), classes 1..N, as in ADE20K.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
from mmseg.datasets import BaseSegDataset

from mmseg_beit.registry import DATASETS
from mmseg_beit.utils.io import write_image

TOY_CLASSES = ("ground", "disc", "box", "triangle", "stripe")
TOY_PALETTE = ((120, 120, 70), (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48))
# Mean BGR colour per class; shapes vary around it so the model must look at texture and form.
_BASE_BGR = np.array([(90, 110, 120), (70, 60, 200), (80, 170, 70), (200, 120, 40), (40, 150, 230)])


@DATASETS.register_module()
class ToyADE20KDataset(BaseSegDataset):
    """The generated toy scenes, read like ADE20K (``reduce_zero_label=True``); generated with
    the default seed when ``data_root`` does not exist yet."""

    METAINFO = dict(classes=TOY_CLASSES, palette=[list(c) for c in TOY_PALETTE])

    def __init__(self, img_suffix: str = ".jpg", seg_map_suffix: str = ".png", **kwargs) -> None:
        kwargs.setdefault("reduce_zero_label", True)
        if kwargs.get("data_root"):
            ensure_toy_ade20k(kwargs["data_root"])
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)


def _textured(rng: np.random.Generator, shape: tuple[int, int], class_id: int) -> np.ndarray:
    """A noisy, striped patch of the class's colour (BGR, float)."""
    h, w = shape
    colour = _BASE_BGR[class_id] + rng.normal(0, 18, 3)
    yy, xx = np.mgrid[0:h, 0:w]
    period = rng.uniform(6, 14)
    waves = np.sin((xx * rng.uniform(-1, 1) + yy) * 2 * np.pi / period)[..., None] * 14
    return colour + waves + rng.normal(0, 10, (h, w, 3))


def _draw_shape(rng: np.random.Generator, mask: np.ndarray, class_id: int) -> None:
    h, w = mask.shape
    size = int(rng.uniform(0.15, 0.35) * min(h, w))
    cy, cx = int(rng.uniform(size, h - size)), int(rng.uniform(size, w - size))
    if class_id == 1:
        cv2.circle(mask, (cx, cy), size, 1, -1)
    elif class_id == 2:
        cv2.rectangle(mask, (cx - size, cy - size), (cx + size, cy + int(size * 0.7)), 1, -1)
    elif class_id == 3:
        pts = np.array([[cx, cy - size], [cx - size, cy + size], [cx + size, cy + size]])
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1)
    else:
        thickness = max(3, size // 3)
        cv2.line(mask, (0, cy), (w - 1, int(cy + rng.uniform(-0.3, 0.3) * h)), 1, thickness)


def make_scene(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One BGR uint8 image and its uint8 label map (0 ignore, class i stored as i + 1)."""
    image = _textured(rng, (height, width), 0)
    label = np.ones((height, width), np.uint8)  # class 0, "ground"
    for class_id in rng.permutation(np.arange(1, len(TOY_CLASSES)))[: rng.integers(2, 5)]:
        mask = np.zeros((height, width), np.uint8)
        _draw_shape(rng, mask, int(class_id))
        region = mask.astype(bool)
        image[region] = _textured(rng, (height, width), int(class_id))[region]
        border = cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
        label[region] = class_id + 1
        label[border] = 0  # thin ambiguous rim, ignored like ADE20K's "other"
    return np.clip(image, 0, 255).astype(np.uint8), label


def make_toy_ade20k(
    root: str | os.PathLike,
    num_train: int = 96,
    num_val: int = 16,
    seed: int = 0,
    size_range: tuple[int, int] = (120, 200),
) -> Path:
    """Writes the toy dataset under ``root``; the same seed always gives the same files.

    Sides are drawn from ``size_range`` independently, so many are not multiples of 16.

    Returns:
        ``root`` as a Path.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, count in (("training", num_train), ("validation", num_val)):
        image_dir, label_dir = root / "images" / split, root / "annotations" / split
        image_dir.mkdir(parents=True, exist_ok=True)
        label_dir.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            height, width = (int(s) for s in rng.integers(*size_range, size=2))
            image, label = make_scene(rng, height, width)
            write_image(image_dir / f"toy_{index:05d}.jpg", image)
            write_image(label_dir / f"toy_{index:05d}.png", label)
    return root


def ensure_toy_ade20k(root: str | os.PathLike) -> Path:
    """Generates the toy dataset at ``root`` unless it exists: in a temporary folder renamed
    into place, so concurrent processes never read a half-written one."""
    root = Path(root)
    if root.exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        make_toy_ade20k(tmp)
        tmp.rename(root)
    except OSError:
        if not root.exists():  # not another process that finished first
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
