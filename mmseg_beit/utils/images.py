"""Reading images the way people have them, and finding them from paths, folders and globs."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

ImageLike = str | os.PathLike | np.ndarray

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def collect_images(inputs: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Expands files, folders (their images, sorted) and glob patterns.

    Returns:
        The image paths, without duplicates, and one error line per input that matched nothing.
    """
    found, errors = [], []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            matches = [path]
        else:
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
        if not matches:
            errors.append(f"{item}: no such file, folder or matching image")
        found.extend(matches)
    unique = list(dict.fromkeys(found))
    return unique, errors


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Reads any common image as 8-bit BGR (OpenCV's order; pass ``channel_order='bgr'`` when
    handing the array to :func:`~mmseg_beit.apis.segment`): grayscale, RGBA, 16-bit,
    EXIF-rotated.

    Raises:
        ValueError: If the file is missing or cannot be decoded, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such image file")
    # IMREAD_COLOR applies EXIF orientation, drops alpha, expands gray and scales 16-bit to 8.
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image


CHANNEL_ORDERS = ("rgb", "bgr")


def as_bgr(image: ImageLike, channel_order: str = "rgb") -> np.ndarray:
    """Any :data:`ImageLike` (or a PIL image) as a contiguous 8-bit BGR array.

    Args:
        image: A path, a PIL image, or an (H, W) / (H, W, 3) / (H, W, 4) uint8 or uint16 array.
        channel_order: The channel order of a colour array: 'rgb' (what PIL, ``imageio`` and
            Hugging Face hand over) or 'bgr' (OpenCV's ``cv2.imread``). Paths and PIL images
            carry their own order.

    Raises:
        ValueError: If ``channel_order`` is neither.
    """
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', not {channel_order!r}")
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if hasattr(image, "convert"):  # PIL image
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[..., ::-1])
    array = np.asarray(image)
    if array.ndim == 2:
        array = cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    else:
        array = array[..., :3]  # alpha dropped
        if channel_order == "rgb":
            array = array[..., ::-1]
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    return np.ascontiguousarray(array)
