"""The dataset check names every unreadable or inconsistent sample before training starts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from mmseg_beit.datasets.check import check_sample, check_samples


@pytest.fixture()
def pair(tmp_path):
    """A good ADE20K-style pair (labels 0..150, reduce_zero_label) and a writer for bad ones."""
    image = np.full((20, 30, 3), 100, np.uint8)
    label = np.zeros((20, 30), np.uint8)
    label[5:] = 7
    cv2.imwrite(str(tmp_path / "good.jpg"), image)
    cv2.imwrite(str(tmp_path / "good.png"), label)
    return tmp_path


def _check(folder, image="good.jpg", label="good.png", classes=150):
    return check_sample(str(folder / image), str(folder / label), classes, reduce_zero_label=True)


def test_good_pair_has_no_problems(pair):
    assert _check(pair) == []


def test_zero_byte_image_is_named(pair):
    (pair / "empty.jpg").write_bytes(b"")
    (problem,) = _check(pair, image="empty.jpg")
    assert problem.startswith(f"{pair / 'empty.jpg'}: unreadable image")


def test_label_value_outside_the_classes_is_named(pair):
    label = np.full((20, 30), 200, np.uint8)
    cv2.imwrite(str(pair / "bad.png"), label)
    (problem,) = _check(pair, label="bad.png")
    assert problem.startswith(f"{pair / 'bad.png'}: label values [200] are outside the 150")


def test_ignore_values_are_not_problems(pair):
    label = np.zeros((20, 30), np.uint8)  # 0 = "other" (ignored)
    label[:2] = 255  # explicitly ignored
    cv2.imwrite(str(pair / "ignored.png"), label)
    assert _check(pair, label="ignored.png") == []


def test_rgb_label_is_named(pair):
    cv2.imwrite(str(pair / "rgb.png"), np.zeros((20, 30, 3), np.uint8))
    (problem,) = _check(pair, label="rgb.png")
    assert "rgb.png: label has 3 channels" in problem


def test_palette_label_is_read_as_class_indices(pair):
    Image.new("P", (30, 20), 9).save(pair / "palette.png")
    assert _check(pair, label="palette.png") == []


def test_size_mismatch_is_named(pair):
    cv2.imwrite(str(pair / "small.png"), np.ones((10, 30), np.uint8))
    (problem,) = _check(pair, label="small.png")
    assert f"small.png: label is 10x30 but its image {pair / 'good.jpg'} is 20x30" in problem


def test_empty_split_is_a_problem():
    report = check_samples("val", [], num_classes=5)
    assert report.problems == {-1: ["val: no samples found"]}
    assert "val: 0 samples, 1 with problems" in report.summary()


def test_jpeg_cut_short_half_way_is_named(pair):
    image = np.random.default_rng(0).integers(0, 255, (20, 30, 3), np.uint8)
    cv2.imwrite(str(pair / "full.jpg"), image)
    data = (pair / "full.jpg").read_bytes()
    (pair / "half.jpg").write_bytes(data[: len(data) // 2])  # a valid header, half the pixels
    (problem,) = _check(pair, image="half.jpg")
    assert problem.startswith(f"{pair / 'half.jpg'}: unreadable image (OSError: image file is")
    assert "truncated" in problem
