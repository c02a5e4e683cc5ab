"""``mmseg-beit test --show-dir``: per image, an image | ground truth | prediction picture."""

from __future__ import annotations

import cv2
import numpy as np
from userland import cli, run

from mmseg_beit.checkpoint import load_file
from mmseg_beit.utils.visualization import render_overlay


def test_show_dir_writes_image_truth_and_prediction_side_by_side(
    toy_checkpoint, toy_root, tmp_path
):
    show = tmp_path / "show"
    command = cli(
        "test", str(toy_checkpoint), "--show-dir", str(show), "--work-dir", str(tmp_path / "w"),
        "--cfg-options", f"test_dataloader.dataset.data_root={toy_root}",
        "test_dataloader.dataset.indices=1",
    )  # fmt: skip
    result = run(command, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    name = sorted((toy_root / "images" / "validation").glob("*.jpg"))[0].stem
    picture = cv2.imread(str(show / f"{name}_compare.png"))[..., ::-1]
    image = cv2.imread(str(toy_root / "images" / "validation" / f"{name}.jpg"))[..., ::-1]
    truth = cv2.imread(str(toy_root / "annotations" / "validation" / f"{name}.png"), -1)
    truth = np.where(truth == 0, 255, truth.astype(np.int64) - 1)  # ADE20K: 0 is unlabelled
    predicted = cv2.imread(str(show / f"{name}.png"), -1).astype(np.int64) - 1
    meta = load_file(toy_checkpoint)["meta"]["dataset_meta"]
    classes, palette = meta["classes"], meta["palette"]
    panels = [
        image,
        render_overlay(image, truth, classes, palette),
        render_overlay(image, predicted, classes, palette),
    ]
    title = picture.shape[0] - image.shape[0]  # the strip holding each panel's title
    assert title > 0 and picture.shape[1] == sum(p.shape[1] for p in panels)
    left = 0
    for panel in panels:
        np.testing.assert_array_equal(picture[title:, left : left + panel.shape[1]], panel)
        left += panel.shape[1]
    assert not np.array_equal(panels[1], panels[2])  # so the middle panel really is the truth
