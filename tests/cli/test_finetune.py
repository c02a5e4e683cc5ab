"""Fine-tuning on your own images and masks: prepare-data, train, test, infer, end to end."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from conftest import REPO
from userland import cli, logged_miou, run

from mmseg_beit.datasets.toy_ade20k import make_scene

TOY = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")


def _own_data(root, count: int = 6) -> None:
    """Images and 3-class masks (0 ground, 1 disc or box, 2 the rest; 255 the rims)."""
    rng = np.random.default_rng(3)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(count):
        image, toy_label = make_scene(rng, 90 + 7 * i, 130)
        mask = np.full(toy_label.shape, 2, np.uint8)
        mask[toy_label == 1] = 0
        mask[(toy_label == 2) | (toy_label == 3)] = 1
        mask[toy_label == 0] = 255
        cv2.imwrite(str(root / "images" / f"photo{i}.jpg"), image)
        cv2.imwrite(str(root / "masks" / f"photo{i}.png"), mask)
    (root / "names.txt").write_text("ground\nround or square\nother shapes\n")


def test_prepare_train_test_infer_on_a_folder_of_images_and_masks(tmp_path):
    _own_data(tmp_path / "mine")
    options = ["--cfg-options", "train_cfg.max_iters=2"]
    toy = run(cli("train", TOY, "--work-dir", "toy", *options), tmp_path)
    assert toy.returncode == 0, toy.stderr[-3000:]
    prepared = run(
        cli("prepare-data", "mine/images", "mine/masks", "--out", "mine.py", "--from",
            "upernet_beit-tiny_toy", "--classes", "mine/names.txt", "--val-fraction", "0.34",
            "--checkpoint", "toy/iter_2.pth"),
        tmp_path,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    assert "6 pairs, 3 classes; train 4, val 2" in prepared.stdout
    assert "skipped (learnt anew): decode_head.conv_seg.weight (5, 64, 1, 1)" in prepared.stdout
    start = torch.load(tmp_path / "mine_start.pth", weights_only=True)["state_dict"]
    assert "backbone.cls_token" in start and "decode_head.conv_seg.weight" not in start

    trained = run(cli("train", "mine.py", "--work-dir", "work", *options), tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "Load checkpoint from" in trained.stdout + trained.stderr
    tested = run(cli("test", "work/iter_2.pth"), tmp_path)
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert "round or square" in tested.stdout + tested.stderr  # per-class IoU table
    # the checkpoint is scored, not the config's starting weights (its load_from)
    assert logged_miou(tested.stdout + tested.stderr, "test") == logged_miou(
        trained.stdout + trained.stderr, "val"
    )
    inferred = run(
        cli("infer", "mine/images/photo0.jpg", "--checkpoint", "work/iter_2.pth"), tmp_path
    )
    assert inferred.returncode == 0, inferred.stderr[-3000:]
    labels = cv2.imread(str(tmp_path / "outputs" / "photo0.png"), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (90, 130) and set(np.unique(labels)) <= {1, 2, 3}


def test_prepare_data_with_a_missing_checkpoint_writes_nothing(tmp_path):
    _own_data(tmp_path / "mine", count=2)
    prepared = run(
        cli("prepare-data", "mine/images", "mine/masks", "--out", "mine.py", "--checkpoint",
            "nosuch.pth"),
        tmp_path,
    )  # fmt: skip
    assert prepared.returncode == 2
    assert "nosuch.pth: no such checkpoint file" in prepared.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
