"""Inference for people: the Python API, tools/infer.py, test.py --show-dir, odd image files."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from PIL import Image

from mmseg_beit.apis import load_segmentor, read_image, segment
from mmseg_beit.checkpoint import CheckpointError

CONFIG = REPO / "configs/beit/upernet_beit-tiny_toy.py"


@pytest.fixture(scope="module")
def model(toy_checkpoint):
    return load_segmentor(CONFIG, toy_checkpoint)


def test_rgb_array_bgr_array_pil_image_and_path_give_the_same_labels(model, toy_root):
    path = sorted((toy_root / "images" / "validation").glob("*.jpg"))[0]
    rgb = np.asarray(Image.open(path).convert("RGB"))  # what PIL / Hugging Face users pass
    bgr = cv2.imread(str(path))
    by_path = segment(model, path, with_probs=True)[0]
    others = [
        segment(model, rgb, with_probs=True)[0],  # the default channel order: RGB
        segment(model, bgr, with_probs=True, channel_order="bgr")[0],
        segment(model, Image.open(path), with_probs=True)[0],
    ]
    assert by_path.labels.shape == bgr.shape[:2]
    for other in others:
        np.testing.assert_array_equal(other.labels, by_path.labels)
        np.testing.assert_allclose(other.probs, by_path.probs, atol=1e-6, rtol=0)
    probs = by_path.probs
    assert probs.shape == (5, *bgr.shape[:2])
    np.testing.assert_allclose(probs.sum(0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(probs.argmax(0), by_path.labels)


def test_an_array_in_the_other_channel_order_gives_other_probabilities(model, toy_root):
    rgb = np.asarray(Image.open(sorted((toy_root / "images" / "validation").glob("*.jpg"))[0]))
    right = segment(model, rgb, with_probs=True)[0].probs
    swapped = segment(model, rgb, with_probs=True, channel_order="bgr")[0].probs
    assert np.abs(right - swapped).max() > 1e-3  # the order is really applied
    with pytest.raises(ValueError, match="channel_order must be 'rgb' or 'bgr', not 'RGB '"):
        segment(model, rgb, channel_order="RGB ")


def test_tta_averages_the_views(toy_checkpoint, toy_root):
    cfg = Config.fromfile(str(CONFIG))
    cfg.tta_pipeline[2].transforms[0] = [
        dict(type="ResizeWithMinSize", scale=(512, 128), ratio=1.0)
    ]
    plain = load_segmentor(cfg, toy_checkpoint)
    tta = load_segmentor(cfg, toy_checkpoint, tta=True)
    image = read_image(sorted((toy_root / "images" / "validation").glob("*.jpg"))[1])
    resized = cv2.resize(image, _tta_size(image))
    direct = segment(plain, resized, with_probs=True)[0].probs
    flipped = segment(plain, resized[:, ::-1].copy(), with_probs=True)[0].probs[:, :, ::-1]
    expected = (direct + flipped) / 2  # at the resized scale; TTA returns the original size
    expected = np.stack(
        [cv2.resize(c, image.shape[1::-1], interpolation=cv2.INTER_LINEAR) for c in expected]
    )
    got = segment(tta, image, with_probs=True)[0].probs
    assert got.shape == expected.shape
    assert np.abs(got - expected).mean() < 0.02  # same fusion; only the final resampling differs


def _tta_size(image):
    from mmseg_beit.datasets import ResizeWithMinSize

    return ResizeWithMinSize(scale=(512, 128)).target_size(*image.shape[:2])


def test_grayscale_rgba_16bit_and_exif_rotated_files(model, toy_root, tmp_path):
    bgr = read_image(sorted((toy_root / "images" / "validation").glob("*.jpg"))[0])
    h, w = bgr.shape[:2]
    cv2.imwrite(str(tmp_path / "gray.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.dstack([bgr, np.full((h, w), 9, np.uint8)]))
    cv2.imwrite(str(tmp_path / "deep.png"), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "plain.png"), bgr)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(bgr[..., ::-1]).save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)

    plain = segment(model, tmp_path / "plain.png")[0].labels
    assert segment(model, tmp_path / "gray.png")[0].labels.shape == (h, w)
    np.testing.assert_array_equal(segment(model, tmp_path / "rgba.png")[0].labels, plain)
    np.testing.assert_array_equal(segment(model, tmp_path / "deep.png")[0].labels, plain)
    assert read_image(tmp_path / "rotated.jpg").shape[:2] == (w, h)  # displayed orientation
    assert segment(model, tmp_path / "rotated.jpg")[0].labels.shape == (w, h)
    with pytest.raises(ValueError, match=r"nothing\.png: no such image file"):
        read_image(tmp_path / "nothing.png")


def test_large_image_goes_through_sliding_windows(model):
    image = np.random.default_rng(0).integers(0, 255, (613, 907, 3), dtype=np.uint8)
    crops = []
    backbone = model.backbone
    handle = backbone.register_forward_hook(
        lambda m, args, out: crops.append(args[0].shape[-2:]) and None
    )
    labels = segment(model, image)[0].labels
    handle.remove()
    assert labels.shape == (613, 907)
    assert len(crops) > 20 and all(tuple(c) == (128, 128) for c in crops)


def test_wrong_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": {"backbone.cls_token": torch.zeros(1, 1, 8)}}, bad)
    with pytest.raises(CheckpointError, match=r"bad\.pth: does not fit EncoderDecoder"):
        load_segmentor(CONFIG, bad)


def test_infer_tool_end_to_end(toy_checkpoint, toy_root, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    glob = str(toy_root / "images" / "validation" / "toy_0000[01].jpg")
    out_dir = tmp_path / "out"
    command = [
        sys.executable,
        str(REPO / "tools/infer.py"),
        str(tmp_path / "in"),
        glob,
        "--config",
        str(CONFIG),
        "--checkpoint",
        str(toy_checkpoint),
        "--out-dir",
        str(out_dir),
        "--opacity",
        "0.7",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1  # one unreadable file, the rest still processed
    assert "broken.jpg: not a readable image" in result.stderr
    assert "2 images in" in result.stdout and "s per image" in result.stdout
    assert "classes found" in result.stdout and "3/3" in result.stdout  # progress bar
    for name in ("toy_00000", "toy_00001"):
        overlay = cv2.imread(str(out_dir / f"{name}_overlay.png"))
        labels = cv2.imread(str(out_dir / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        image = cv2.imread(str(toy_root / "images" / "validation" / f"{name}.jpg"))
        assert labels.shape == image.shape[:2] and labels.dtype == np.uint8
        assert set(np.unique(labels)) <= set(range(1, 6))  # ADE20K convention: class i as i + 1
        assert overlay.shape[0] == image.shape[0] and overlay.shape[1] > image.shape[1]  # + legend


def test_test_tool_show_dir_and_out(toy_checkpoint, toy_root, tmp_path):
    command = [
        sys.executable,
        str(REPO / "tools/test.py"),
        str(CONFIG),
        str(toy_checkpoint),
        "--work-dir",
        str(tmp_path / "work"),
        "--show-dir",
        str(tmp_path / "show"),
        "--out",
        str(tmp_path / "labels"),
        "--cfg-options",
        f"test_dataloader.dataset.data_root={toy_root}",
        "default_hooks.logger.interval=1",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Iter(test) [1/4]    eta:" in result.stdout + result.stderr  # progress with an ETA
    shown = sorted(p.name for p in (tmp_path / "show").iterdir())
    suffixes = ("", "_overlay", "_compare")
    assert shown == sorted([f"toy_0000{i}{s}.png" for i in range(4) for s in suffixes])
    for i in range(4):
        np.testing.assert_array_equal(
            cv2.imread(str(tmp_path / "show" / f"toy_0000{i}.png"), cv2.IMREAD_UNCHANGED),
            cv2.imread(str(tmp_path / "labels" / f"toy_0000{i}.png"), cv2.IMREAD_UNCHANGED),
        )


def test_mmseg_inferencer_works_with_our_configs(toy_checkpoint, toy_root):
    from mmseg.apis import MMSegInferencer

    inferencer = MMSegInferencer(model=str(CONFIG), weights=str(toy_checkpoint), device="cpu")
    image = read_image(sorted((toy_root / "images" / "validation").glob("*.jpg"))[0])
    result = inferencer(image, return_datasamples=True)
    model = load_segmentor(CONFIG, toy_checkpoint)
    np.testing.assert_array_equal(
        result.pred_sem_seg.data[0].numpy(), segment(model, image, channel_order="bgr")[0].labels
    )


def test_real_ade20k_samples_at_their_own_size(model, ade_samples):
    for path in sorted((ade_samples / "images").glob("*.jpg")):
        image = read_image(path)
        labels = segment(model, path)[0].labels
        assert labels.shape == image.shape[:2]
        annotation = cv2.imread(
            str(ade_samples / "annotations" / f"{path.stem}.png"), cv2.IMREAD_UNCHANGED
        )
        assert annotation.shape == image.shape[:2] and annotation.max() <= 150


def test_test_tool_refuses_a_checkpoint_that_does_not_fit(toy_root, tmp_path):
    bad = tmp_path / "other.pth"
    torch.save({"state_dict": {"backbone.cls_token": torch.zeros(1, 1, 8)}}, bad)
    command = [
        sys.executable,
        str(REPO / "tools/test.py"),
        str(CONFIG),
        str(bad),
        "--work-dir",
        str(tmp_path / "work"),
        "--cfg-options",
        f"test_dataloader.dataset.data_root={toy_root}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "other.pth: does not fit EncoderDecoder" in result.stderr
    assert "missing" in result.stderr and "shape-mismatched (backbone.cls_token" in result.stderr
