"""The legend of overlay pictures: classes by area, "+N more", small shares."""

from __future__ import annotations

import numpy as np

from mmseg_beit.utils.visualization import legend_lines

CLASSES = ("wall", "sky", "tree", "road", "car")


def _labels() -> np.ndarray:
    """200 pixels: road 100, sky 60, wall 39, car 1; 255 (ignored) is never listed."""
    flat = np.array([3] * 100 + [1] * 60 + [0] * 39 + [4] * 1, np.uint8)
    return flat.reshape(10, 20)


def test_legend_lists_classes_present_largest_area_first():
    lines = legend_lines(_labels(), CLASSES, rows=10)
    assert lines == [(3, "road 50%"), (1, "sky 30%"), (0, "wall 20%"), (4, "car <1%")]


def test_legend_ends_with_how_many_classes_did_not_fit():
    lines = legend_lines(_labels(), CLASSES, rows=3)
    assert lines == [(3, "road 50%"), (1, "sky 30%"), (None, "+2 more")]


def test_legend_skips_labels_outside_the_classes():
    labels = np.full((4, 4), 255, np.uint8)
    labels[0, 0] = 2
    assert legend_lines(labels, CLASSES, rows=5) == [(2, "tree 6%")]
