"""Bad input is caught before hours of work: bad samples, config typos, converters pointed at
their own input, images of a few pixels. Run through the commands users type."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO
from userland import cli, run

from mmseg_beit.datasets import make_toy_ade20k

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")
FAST = ["--cfg-options", "train_cfg.max_iters=2"]


@pytest.fixture()
def toy(tmp_path):
    """A toy dataset where the config looks for it (data/toy_ade20k), small."""
    return make_toy_ade20k(tmp_path / "data" / "toy_ade20k", num_train=4, num_val=2)


def test_corrupt_validation_image_stops_training_before_the_first_iteration(toy, tmp_path):
    (toy / "images" / "validation" / "toy_00001.jpg").write_bytes(b"")
    out = run(cli("train", CONFIG, "--work-dir", "work", *FAST), tmp_path)
    assert out.returncode == 2
    assert "toy_00001.jpg: unreadable image" in out.stderr and "--skip-bad-samples" in out.stderr
    assert "Iter(train)" not in out.stdout + out.stderr and not (tmp_path / "work").exists()


def test_skip_bad_samples_trains_without_them_and_lists_them(toy, tmp_path):
    cv2.imwrite(str(toy / "annotations" / "training" / "toy_00002.png"), np.zeros((9, 9, 3)))
    out = run(cli("train", CONFIG, "--work-dir", "work", "--skip-bad-samples", *FAST), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "skipping 1 bad train samples" in out.stdout
    assert "toy_00002.png: label has 3 channels" in out.stdout
    kept = (tmp_path / "work" / "train_good_samples.txt").read_text().split()
    assert kept == ["toy_00000", "toy_00001", "toy_00003"]


def test_out_of_range_label_in_testing_is_an_error_naming_the_file(toy, toy_checkpoint, tmp_path):
    checkpoint = tmp_path / "w.pth"
    shutil.copy(toy_checkpoint, checkpoint)
    label = toy / "annotations" / "validation" / "toy_00000.png"
    cv2.imwrite(str(label), np.full((50, 60), 200, np.uint8))
    checked = run(cli("test", CONFIG, str(checkpoint)), tmp_path)
    assert checked.returncode == 2 and "toy_00000.png: label values [200]" in checked.stderr
    unchecked = run(cli("test", CONFIG, str(checkpoint), "--skip-data-check"), tmp_path)
    assert unchecked.returncode == 2  # scored nowhere silently: the metric refuses it too
    assert "data/toy_ade20k/annotations/validation/toy_00000.png: label values [199]" in (
        unchecked.stderr
    )


def test_check_data_command_lists_every_problem(toy, tmp_path):
    (toy / "images" / "training" / "toy_00003.jpg").write_bytes(b"not a jpeg")
    out = run(cli("check-data", CONFIG, "--splits", "train", "val"), tmp_path)
    assert out.returncode == 1
    assert "train: 4 samples, 1 with problems" in out.stdout
    assert "val: 2 samples, 0 with problems" in out.stdout


def test_check_data_names_a_jpeg_cut_short(toy, tmp_path):
    path = toy / "images" / "training" / "toy_00001.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an interrupted copy: the header is intact
    out = run(cli("check-data", CONFIG, "--splits", "train"), tmp_path)
    assert out.returncode == 1
    assert "train: 4 samples, 1 with problems" in out.stdout
    assert "toy_00001.jpg: unreadable image (OSError: image file is truncated" in out.stdout


def test_misspelt_top_level_override_is_refused_with_the_nearest_key(tmp_path):
    out = run(cli("train", CONFIG, "--cfg-options", "train_cfgg.max_iters=5"), tmp_path)
    assert out.returncode == 2
    assert "train_cfgg.max_iters: the config has no key 'train_cfgg'" in out.stderr
    assert "did you mean 'train_cfg'" in out.stderr


def test_hook_argument_the_hook_does_not_take_is_refused_before_training(tmp_path):
    out = run(
        cli("train", CONFIG, "--cfg-options", "default_hooks.checkpoint.intervall=2"), tmp_path
    )
    assert out.returncode == 2
    assert "default_hooks.checkpoint.intervall: CheckpointHook takes no argument" in out.stderr
    assert "did you mean 'interval'" in out.stderr


@pytest.mark.parametrize("name", ["beit.pth", "model.safetensors"])
def test_converter_refuses_to_overwrite_its_input(tmp_path, name):
    source = tmp_path / name
    if name.endswith(".pth"):
        torch.save({"model": {"blocks.0.norm1.weight": torch.ones(4)}}, source)
    else:
        from safetensors.torch import save_file

        save_file({"beit.encoder.layer.0.layernorm_before.weight": torch.ones(4)}, str(source))
    before = source.read_bytes()
    out = run(cli("convert", str(source), str(source)), tmp_path)
    assert out.returncode == 1 and f"{name}: would overwrite the input" in out.stderr
    assert source.read_bytes() == before


def test_infer_handles_images_of_a_few_pixels_and_goes_on_after_a_bad_one(tmp_path):
    trained = run(cli("train", CONFIG, "--work-dir", "work", *FAST), tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    images = tmp_path / "images"
    images.mkdir()
    for side in (1, 4, 17):
        cv2.imwrite(str(images / f"side{side:02d}.png"), np.full((side, side, 3), 90, np.uint8))
    (images / "zz_broken.png").write_bytes(b"\x89PNG broken")
    out = run(
        cli("infer", str(images), "--checkpoint", "work/iter_2.pth", "--out-dir", "out"), tmp_path
    )
    assert out.returncode == 1 and "zz_broken.png" in out.stderr
    for side in (1, 4, 17):
        labels = cv2.imread(str(tmp_path / "out" / f"side{side:02d}.png"), cv2.IMREAD_UNCHANGED)
        assert labels.shape == (side, side)


def test_infer_goes_on_after_images_that_fail_mid_batch(
    tmp_path, toy_checkpoint, monkeypatch, capsys
):
    """A broken file and an image that runs out of memory, in the middle of a batch."""
    import mmseg_beit.apis

    images = tmp_path / "images"
    images.mkdir()
    for name, height in (("a", 20), ("c", 21), ("d", 20)):
        cv2.imwrite(str(images / f"{name}.png"), np.full((height, 30, 3), 90, np.uint8))
    (images / "b.png").write_bytes(b"\x89PNG broken")
    segment = mmseg_beit.apis.segment

    def out_of_memory_on_c(model, image, **kwargs):
        if image.shape[0] == 21:
            raise MemoryError("cannot allocate 8.6 GB")
        return segment(model, image, **kwargs)

    monkeypatch.setattr(mmseg_beit.apis, "segment", out_of_memory_on_c)
    args = ["infer", str(images), "--checkpoint", str(toy_checkpoint), "--out-dir", "out"]
    monkeypatch.chdir(tmp_path)
    from mmseg_beit.cli import main

    assert main(args) == 1
    err = capsys.readouterr().err
    assert "b.png: ValueError" in err and "c.png: MemoryError: cannot allocate 8.6 GB" in err
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["a.png", "a_overlay.png", "d.png", "d_overlay.png"]
