"""Finding input images and writing prediction files (overlay picture + label PNG)."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmseg_beit.apis.visualize import render_overlay
from mmseg_beit.io import write_image

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


def label_png(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """ADE20K convention: 0 = other, class i stored as i + 1 (uint16 beyond 255 classes)."""
    dtype = np.uint8 if num_classes < 255 else np.uint16
    return (labels + 1).astype(dtype)


def save_prediction(
    out_dir: str | os.PathLike,
    name: str,
    image_rgb: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    opacity: float = 0.5,
) -> tuple[Path, Path]:
    """Writes ``NAME_overlay.png`` (colours + legend) and ``NAME.png`` (labels), atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    overlay_path, label_path = out_dir / f"{name}_overlay.png", out_dir / f"{name}.png"
    picture = render_overlay(image_rgb, labels, classes, palette, opacity)
    write_image(overlay_path, picture[..., ::-1])
    write_image(label_path, label_png(labels, len(classes)))
    return overlay_path, label_path
