"""Your own data: a folder of images and a folder of masks, matched by file name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mmseg_beit.utils.images import IMAGE_SUFFIXES


@dataclass
class FolderDataset:
    """Image / mask pairs found in two folders, and the classes their masks use.

    Attributes:
        images: Image folder.
        masks: Mask folder (single-channel PNG label values; 255 = ignore).
        names: File stems present in both, sorted.
        img_suffix: The images' suffix (one for all).
        largest: Largest label value in the masks, 255 excluded (-1 when there is none).
        masks_with_zero: How many masks hold the value 0.
        zero_fraction: Share of all mask pixels that are 0.
        has_ignore: Whether any mask holds 255.
    """

    images: Path
    masks: Path
    names: list[str]
    img_suffix: str
    largest: int
    masks_with_zero: int
    zero_fraction: float
    has_ignore: bool

    def describe(self) -> str:
        """What the masks hold, in one line (for messages)."""
        zero = f"{self.zero_fraction:.1%}" if self.zero_fraction >= 0.001 else "under 0.1%"
        return (
            f"{self.masks}: {len(self.names)} masks with label values up to {self.largest}; "
            f"0 in {self.masks_with_zero} of them ({zero} of all pixels); "
            + ("255 (ignore) present" if self.has_ignore else "no 255")
        )


def scan_folders(images: str | os.PathLike, masks: str | os.PathLike) -> FolderDataset:
    """Pairs images with ``NAME.png`` masks and reads the class indices the masks use.

    Raises:
        ValueError: No pairs, several image suffixes, or masks that are not single-channel,
            naming the files.
    """
    images, masks = Path(images), Path(masks)
    for folder in (images, masks):
        if not folder.is_dir():
            raise ValueError(f"{folder}: no such folder")
    found = {p.stem: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    names = sorted(stem for stem in found if (masks / f"{stem}.png").is_file())
    if not names:
        raise ValueError(f"no image in {images} has a mask NAME.png in {masks}")
    suffixes = {found[name].suffix for name in names}
    if len(suffixes) > 1:
        raise ValueError(f"{images}: images of one dataset need one suffix, found {suffixes}")
    largest, with_zero, zeros, pixels, has_ignore = -1, 0, 0, 0, False
    for name in names:
        with Image.open(masks / f"{name}.png") as mask:
            array = np.asarray(mask)
        if array.ndim != 2:
            raise ValueError(f"{masks / (name + '.png')}: masks must be single-channel indices")
        values = np.unique(array)
        has_ignore |= bool((values == 255).any())
        values = values[values != 255]
        largest = max(largest, int(values.max()) if values.size else -1)
        count = int(np.count_nonzero(array == 0))
        with_zero += count > 0
        zeros, pixels = zeros + count, pixels + array.size
    return FolderDataset(
        images, masks, names, suffixes.pop(), largest, with_zero, zeros / pixels, has_ignore
    )


def split_names(names: list[str], val_fraction: float, seed: int = 0) -> tuple[list, list]:
    """A seeded split into (train, val) names; val holds at least one."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val fraction must be in (0, 1), got {val_fraction}")
    if len(names) < 2:
        raise ValueError(f"need at least 2 image / mask pairs to split, found {len(names)}")
    order = np.random.default_rng(seed).permutation(len(names))
    count = max(1, round(len(names) * val_fraction))
    val = sorted(names[i] for i in order[:count])
    return sorted(set(names) - set(val)), val
