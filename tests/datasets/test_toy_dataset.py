"""The generated toy dataset: ADE20K layout, deterministic, readable by the dataset class."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from mmseg_beit.datasets import make_toy_ade20k
from mmseg_beit.registry import DATASETS


def _digest(root) -> str:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return hashlib.sha256(
        b"".join(p.relative_to(root).as_posix().encode() + p.read_bytes() for p in files)
    ).hexdigest()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = make_toy_ade20k(tmp_path / "a", num_train=3, num_val=2, seed=5)
    b = make_toy_ade20k(tmp_path / "b", num_train=3, num_val=2, seed=5)
    c = make_toy_ade20k(tmp_path / "c", num_train=3, num_val=2, seed=6)
    assert _digest(a) == _digest(b) != _digest(c)


def test_layout_and_label_conventions(toy_root):
    images = sorted((toy_root / "images" / "training").glob("*.jpg"))
    labels = sorted((toy_root / "annotations" / "training").glob("*.png"))
    assert len(images) == len(labels) == 8
    assert len(list((toy_root / "images" / "validation").glob("*.jpg"))) == 4
    sides = set()
    for image_path, label_path in zip(images, labels):
        image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
        label = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
        assert label.ndim == 2 and label.dtype == np.uint8
        assert image.shape[:2] == label.shape
        assert set(np.unique(label)) <= set(range(6))
        assert (label == 1).mean() > 0.2 and (label == 0).any()  # ground, and ignored rims
        assert len(set(np.unique(label)) - {0, 1}) >= 2  # at least two shapes
        sides.update(label.shape)
    assert any(side % 16 for side in sides)


def test_dataset_class_reads_it_with_reduce_zero_label(toy_root):
    dataset = DATASETS.build(
        dict(
            type="ToyADE20KDataset",
            data_root=str(toy_root),
            data_prefix=dict(img_path="images/validation", seg_map_path="annotations/validation"),
            pipeline=[
                dict(type="LoadImageFromFile"),
                dict(type="LoadAnnotations", reduce_zero_label=True),
            ],
        )
    )
    assert len(dataset) == 4 and dataset.metainfo["classes"][0] == "ground"
    item = dataset[0]
    raw = cv2.imread(item["seg_map_path"], cv2.IMREAD_UNCHANGED)
    expected = raw.astype(np.int64) - 1
    expected[raw == 0] = 255
    np.testing.assert_array_equal(item["gt_seg_map"], expected)
