"""Outputs never go where inputs are read from, and a checkpoint runs only on the classes it was
trained on (unless told otherwise). Run through the commands users type."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from conftest import REPO
from userland import cli, run

from mmseg_beit.cli import main
from mmseg_beit.datasets import make_toy_ade20k

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")
ADE_TEST_SET = [
    "--cfg-options",
    "test_dataloader.dataset.type=ADE20KDataset",
    "test_dataloader.dataset.data_prefix.img_path=images",
    "test_dataloader.dataset.data_prefix.seg_map_path=annotations",
]


@pytest.fixture()
def toy(tmp_path, monkeypatch):
    """A toy dataset where the config looks for it (data/toy_ade20k), in the current folder."""
    monkeypatch.chdir(tmp_path)
    return make_toy_ade20k(tmp_path / "data" / "toy_ade20k", num_train=1, num_val=2)


def _contents(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("option, folder", [("--out", "annotations"), ("--show-dir", "images")])
def test_test_refuses_to_write_into_the_datasets_folders(
    toy, toy_checkpoint, capsys, option, folder
):
    target = toy / folder / "validation"
    before = _contents(target)
    assert main(["test", CONFIG, str(toy_checkpoint), option, str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{option} {target} is the input folder {target.resolve()}" in err
    assert _contents(target) == before  # the ground truth and the images byte for byte


def test_test_refuses_an_output_folder_inside_the_datasets_folders(toy, toy_checkpoint, capsys):
    inside = toy / "annotations" / "validation" / "predictions"
    assert main(["test", CONFIG, str(toy_checkpoint), "--out", str(inside)]) == 2
    assert "is inside the input folder" in capsys.readouterr().err
    assert not inside.exists()


def test_infer_refuses_to_write_into_the_folder_of_its_images(tmp_path, toy_checkpoint, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "holiday.png"), np.full((40, 50, 3), 120, np.uint8))
    before = _contents(photos)
    args = ["infer", str(photos / "holiday.png"), "--checkpoint", str(toy_checkpoint)]
    assert main([*args, "--out-dir", str(photos)]) == 2
    assert f"--out-dir {photos} is the input folder" in capsys.readouterr().err
    assert _contents(photos) == before  # the photo is not replaced by its label map


def test_test_refuses_a_checkpoint_of_other_classes(ade_samples, toy_checkpoint, tmp_path, capsys):
    """The 5-class toy checkpoint on the 150-class ADE20K samples."""
    options = [*ADE_TEST_SET, f"test_dataloader.dataset.data_root={ade_samples}"]
    work = ["--work-dir", str(tmp_path / "work")]
    assert main(["test", str(toy_checkpoint), *work, *options]) == 2
    err = capsys.readouterr().err
    assert f"{toy_checkpoint} was trained on other classes than the test dataset" in err
    assert "5 classes (ground, disc, box, triangle, stripe) against 150 (wall, building" in err
    assert not (tmp_path / "work").exists()


def test_allow_class_mismatch_tests_it_anyway(ade_samples, toy_checkpoint, tmp_path):
    checkpoint = tmp_path / "toy.pth"
    shutil.copy(toy_checkpoint, checkpoint)
    options = [*ADE_TEST_SET, f"test_dataloader.dataset.data_root={ade_samples}"]
    out = run(cli("test", str(checkpoint), "--allow-class-mismatch", *options), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Iter(test) [3/3]" in out.stdout + out.stderr


def test_infer_refuses_a_config_of_other_classes_than_the_checkpoint(
    tmp_path, toy_checkpoint, capsys
):
    image = tmp_path / "a.png"
    cv2.imwrite(str(image), np.full((40, 50, 3), 120, np.uint8))
    ade_config = "upernet_beit-base_8x2_640x640_160k_ade20k"
    args = ["infer", str(image), "--checkpoint", str(toy_checkpoint), "--config", ade_config]
    assert main([*args, "--out-dir", str(tmp_path / "out")]) == 2
    assert "was trained on other classes than the test dataset" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
