"""Checks of segmentation samples that catch, before training, what would fail hours later."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

_ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


@dataclass
class DataReport:
    """What a check of one split found."""

    split: str
    samples: int
    problems: dict[int, list[str]] = field(default_factory=dict)  # sample index -> problems

    def summary(self, shown: int = 10) -> str:
        """'split: N samples, M with problems' and the first problems, one per line."""
        lines = [f"{self.split}: {self.samples} samples, {len(self.problems)} with problems"]
        items = [p for problems in self.problems.values() for p in problems]
        lines += [f"  {p}" for p in items[:shown]]
        if len(items) > shown:
            lines.append(f"  ... {len(items) - shown} more")
        return "\n".join(lines)


def _image_size(path: str) -> tuple[int, int]:
    """(height, width) as the loaders see it: EXIF orientation applied.

    The whole image is decoded: a file cut short (an interrupted copy) has a valid header and
    fails only when its pixels are read, which would otherwise be at some iteration in training.
    """
    with Image.open(path) as image:
        image.load()  # raises OSError "image file is truncated" on a cut-short file
        width, height = image.size
        if image.getexif().get(0x0112) in _ROTATED:
            width, height = height, width
    return height, width


def check_sample(
    img_path: str,
    seg_map_path: str | None,
    num_classes: int,
    reduce_zero_label: bool = False,
    ignore_index: int = 255,
) -> list[str]:
    """Problems of one image / label pair, each naming its file (empty when all is well)."""
    problems = []
    try:
        size = _image_size(img_path)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        problems.append(f"{img_path}: unreadable image ({type(error).__name__}: {error})")
        size = None
    if seg_map_path is None:
        return problems
    try:
        with Image.open(seg_map_path) as label_image:
            label = np.asarray(label_image)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        return [*problems, f"{seg_map_path}: unreadable label ({type(error).__name__}: {error})"]
    if label.ndim != 2:
        channels = label.shape[2] if label.ndim == 3 else label.ndim
        return [
            *problems,
            f"{seg_map_path}: label has {channels} channels; labels must be single-channel "
            "class indices (grayscale or palette PNG), not colours",
        ]
    if size is not None and label.shape != size:
        problems.append(
            f"{seg_map_path}: label is {label.shape[0]}x{label.shape[1]} but its image "
            f"{img_path} is {size[0]}x{size[1]}"
        )
    values = np.unique(label).astype(np.int64)
    if reduce_zero_label:
        values = np.where(values == 0, ignore_index, values - 1)
        values[values == ignore_index - 1] = ignore_index  # 255 stays "ignore"
    bad = values[(values != ignore_index) & ((values < 0) | (values >= num_classes))]
    if bad.size:
        shown = (bad + 1 if reduce_zero_label else bad)[:8].tolist()
        problems.append(
            f"{seg_map_path}: label values {shown} are outside the {num_classes} classes "
            f"(reduce_zero_label={reduce_zero_label}, ignore {ignore_index})"
        )
    return problems


def check_samples(
    split: str,
    samples: Sequence[dict],
    num_classes: int,
    reduce_zero_label: bool = False,
    ignore_index: int = 255,
    progress: Callable[[], None] | None = None,
) -> DataReport:
    """Checks every ``{'img_path', 'seg_map_path'}`` sample (threads; decoding frees the GIL)."""
    report = DataReport(split, len(samples))
    if not samples:
        report.problems[-1] = [f"{split}: no samples found"]
        return report

    def one(sample: dict) -> list[str]:
        found = check_sample(
            sample["img_path"],
            sample.get("seg_map_path"),
            num_classes,
            reduce_zero_label,
            ignore_index,
        )
        if progress is not None:
            progress()
        return found

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for index, problems in enumerate(pool.map(one, samples)):
            if problems:
                report.problems[index] = problems
    return report
