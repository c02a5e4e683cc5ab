"""Pictures of label maps (colour overlays with a legend) and the files a prediction is saved as."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from mmseg_beit.utils.io import write_image


def colorize(labels: np.ndarray, palette: Sequence[Sequence[int]], ignore: int = 255) -> np.ndarray:
    """An RGB image of a (H, W) class-index map; ``ignore`` pixels are black."""
    table = np.zeros((256, 3), np.uint8)
    table[: len(palette)] = np.asarray(palette, np.uint8)[:256]
    table[ignore] = 0
    return table[labels.astype(np.int64).clip(0, 255)]


_ROW = 18  # legend row height, pixels


def _percent(share: float) -> str:
    """A legend's area share in whole percents; "<1%" below one (never "0%" for a class shown)."""
    return "<1%" if share < 1 else f"{share:.0f}%"


def legend_lines(
    labels: np.ndarray, classes: Sequence[str], rows: int
) -> list[tuple[int | None, str]]:
    """The legend's lines: (class id, "name share") of the classes present, largest area first,
    ending with (None, "+N more") when more classes are present than ``rows`` can hold."""
    ids, counts = np.unique(labels[labels < len(classes)], return_counts=True)
    order = ids[np.argsort(-counts, kind="stable")]
    share = dict(zip(ids.tolist(), (100.0 * counts / labels.size).tolist()))
    shown = order if len(order) <= rows else order[: max(1, rows) - 1]
    lines: list[tuple[int | None, str]] = [
        (int(i), f"{classes[i]} {_percent(share[int(i)])}") for i in shown
    ]
    if len(shown) < len(order):
        lines.append((None, f"+{len(order) - len(shown)} more"))
    return lines


def _legend(
    labels: np.ndarray, classes: Sequence[str], palette: Sequence[Sequence[int]], height: int
) -> np.ndarray | None:
    """A legend panel (:func:`legend_lines`) as tall as the picture; None when no class is
    present."""
    lines = legend_lines(labels, classes, max(1, (height - 8) // _ROW))
    if not lines:
        return None
    width = 10 + 8 * max([len(text) for _, text in lines] + [6]) + 26
    panel = np.full((max(height, _ROW * len(lines) + 8), width, 3), 255, np.uint8)
    for n, (class_id, text) in enumerate(lines):
        y = 6 + n * _ROW
        if class_id is not None:
            colour = tuple(int(c) for c in palette[class_id])
            cv2.rectangle(panel, (6, y), (20, y + 12), colour, -1)
        cv2.putText(panel, text, (26, y + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return panel[:height]


def render_overlay(
    image_rgb: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    opacity: float = 0.5,
    legend: bool = True,
) -> np.ndarray:
    """Blends the colourised labels over an RGB image; appends a legend of the classes present
    (largest area first).

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
    panel = _legend(labels, classes, palette, picture.shape[0]) if legend else None
    return picture if panel is None else np.concatenate([picture, panel], axis=1)


_TITLE = 26  # title strip height, pixels


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """The panel under a white strip holding its title."""
    strip = np.full((_TITLE, panel.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, title, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    return np.concatenate([strip, panel], axis=0)


def render_comparison(
    image_rgb: np.ndarray,
    truth: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    opacity: float = 0.5,
) -> np.ndarray:
    """Image | ground truth | prediction, side by side and titled, each overlay with the legend
    of its own classes (as :func:`render_overlay`); 255 in ``truth`` is left uncoloured.

    Returns:
        (26 + H, W + two overlays, 3) uint8 RGB picture.
    """
    panels = [
        titled(image_rgb, "image"),
        titled(render_overlay(image_rgb, truth, classes, palette, opacity), "ground truth"),
        titled(render_overlay(image_rgb, labels, classes, palette, opacity), "prediction"),
    ]
    return np.concatenate(panels, axis=1)


def dataset_classes(meta: dict | None) -> tuple[list[str], list]:
    """Class names and palette of a model's ``dataset_meta``; ADE20K's when it has none."""
    meta = meta or {}
    if meta.get("classes") and meta.get("palette"):
        return list(meta["classes"]), list(meta["palette"])
    from mmseg.datasets import ADE20KDataset

    return list(ADE20KDataset.METAINFO["classes"]), list(ADE20KDataset.METAINFO["palette"])


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


def save_comparison(
    out_dir: str | os.PathLike,
    name: str,
    image_rgb: np.ndarray,
    truth: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    opacity: float = 0.5,
) -> Path:
    """Writes ``NAME_compare.png`` (:func:`render_comparison`) atomically."""
    path = Path(out_dir) / f"{name}_compare.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = render_comparison(image_rgb, truth, labels, classes, palette, opacity)
    write_image(path, picture[..., ::-1])
    return path
