"""Fine-tuning on your own images and masks: prepare-data, train, test, infer, end to end."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from conftest import REPO
from mmengine.config import Config
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


def _ade_style(root) -> None:
    """Images and ADE20K-style masks: 0 = unlabeled (the rims), classes stored as 1..3."""
    _own_data(root, count=3)
    for path in (root / "masks").glob("*.png"):
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(path), np.where(mask == 255, 0, mask + 1).astype(np.uint8))


def _prepare(tmp_path, *options: str):
    return run(
        cli("prepare-data", "mine/images", "mine/masks", "--out", "mine.py", *options), tmp_path
    )


def test_prepare_data_refuses_to_guess_what_zero_means_and_writes_nothing(tmp_path):
    _ade_style(tmp_path / "mine")
    prepared = _prepare(tmp_path, "--classes", "numbered", "--from", "upernet_beit-tiny_toy")
    assert prepared.returncode == 2, prepared.stdout
    assert "label values up to 3; 0 in 3 of them" in prepared.stderr
    assert "--zero-is-ignore" in prepared.stderr and "--zero-is-class" in prepared.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_prepare_data_reads_ade_style_masks_with_as_many_names_as_classes(tmp_path):
    _ade_style(tmp_path / "mine")
    prepared = _prepare(
        tmp_path, "--classes", "ground,round or square,other shapes", "--from",
        "upernet_beit-tiny_toy",
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    assert "3 pairs, 3 classes" in prepared.stdout and "UNLABELED" in prepared.stdout
    dataset = Config.fromfile(str(tmp_path / "mine.py")).train_dataloader.dataset
    assert dataset.reduce_zero_label is True
    assert dataset.metainfo["classes"] == ["ground", "round or square", "other shapes"]
    loads = [step for step in dataset.pipeline if step["type"] == "LoadAnnotations"]
    assert [step["reduce_zero_label"] for step in loads] == [True]


def test_prepare_data_reads_real_ade20k_samples_with_the_ade20k_names(tmp_path, ade_samples):
    prepared = run(
        cli("prepare-data", str(ade_samples / "images"), str(ade_samples / "annotations"),
            "--out", "ade.py", "--classes", "ade20k", "--from", "upernet_beit-tiny_toy"),
        tmp_path,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    assert "3 pairs, 150 classes" in prepared.stdout
    cfg = Config.fromfile(str(tmp_path / "ade.py"))
    assert cfg.val_dataloader.dataset.reduce_zero_label is True
    assert cfg.model.decode_head.num_classes == 150


def test_generated_config_holds_only_the_keys_a_run_reads(tmp_path):
    _own_data(tmp_path / "mine", count=3)
    prepared = _prepare(tmp_path, "--classes", "mine/names.txt", "--from", "upernet_beit-tiny_toy")
    assert prepared.returncode == 0, prepared.stderr
    text = (tmp_path / "mine.py").read_text()
    cfg = Config.fromfile(str(tmp_path / "mine.py"))
    stale = {"data_root", "dataset_type", "train_pipeline", "test_pipeline", "crop_size", "width"}
    assert not stale & set(cfg.keys())
    assert "ADEChallengeData2016" not in text and "toy_ade20k" not in text
    assert text.count("other shapes") == 1  # the class names once, named by every dataloader
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert cfg[loader].dataset.metainfo["classes"][2] == "other shapes"


def test_prepare_data_without_the_recipes_weights_says_where_and_writes_nothing(tmp_path):
    _own_data(tmp_path / "mine", count=2)
    prepared = _prepare(tmp_path, "--classes", "mine/names.txt")  # BEiT-B recipe, no pretrain/
    assert prepared.returncode == 2
    message = prepared.stderr
    assert "pretrain/beit_base_patch16_224_pt22k_ft22k.pth: no such file" in message
    assert "releases/download/v1.0/beit_base_patch16_224_pt22k_ft22k.pth" in message
    assert "mmseg-beit convert beit_base_patch16_224_pt22k_ft22k.pth pretrain/" in message
    assert "--from-scratch" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_prepare_data_from_scratch_drops_the_pretrained_backbone(tmp_path):
    _own_data(tmp_path / "mine", count=2)
    prepared = _prepare(tmp_path, "--classes", "mine/names.txt", "--from-scratch")
    assert prepared.returncode == 0, prepared.stderr
    assert "training from scratch: model.backbone.init_cfg=None" in prepared.stdout
    cfg = Config.fromfile(str(tmp_path / "mine.py"))
    assert cfg.model.backbone.init_cfg is None and cfg.model.backbone.embed_dims == 768
