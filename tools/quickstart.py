"""Quick start on CPU: toy data -> train a tiny BEiT UPerNet -> sliding-window mIoU -> picture.

python tools/quickstart.py [--work-dir work_dirs/quickstart] [--iters 600]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from mmengine.config import Config

from mmseg_beit.apis import load_segmentor, read_image, segment
from mmseg_beit.datasets import make_toy_ade20k
from mmseg_beit.runtime.console import quiet_console
from mmseg_beit.runtime.runner import Runner
from mmseg_beit.utils.configs import find_config
from mmseg_beit.utils.io import write_image
from mmseg_beit.utils.visualization import render_comparison

CONFIG = find_config("upernet_beit-tiny_toy")  # shipped inside the installed package


def _picture(model, image_path: Path, label_path: Path, out: Path) -> None:
    """Image | ground truth | prediction (with a legend), titled, written atomically."""
    meta = model.dataset_meta
    classes, palette = meta["classes"], meta["palette"]
    image_rgb = read_image(image_path)[..., ::-1]
    truth = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED).astype(np.int64) - 1
    truth[truth < 0] = 255  # ADE20K: 0 is "other", ignored
    predicted = segment(model, image_path)[0].labels
    picture = render_comparison(image_rgb, truth, predicted, classes, palette, 0.6)
    write_image(out, picture[..., ::-1])


def _majority_class_miou(data_root: Path, num_classes: int) -> float:
    """mIoU of predicting the most frequent class everywhere: the level to beat."""
    counts = np.zeros(256, np.int64)
    for path in (data_root / "annotations" / "validation").glob("*.png"):
        counts += np.bincount(cv2.imread(str(path), cv2.IMREAD_UNCHANGED).ravel(), minlength=256)
    valid = counts[1 : num_classes + 1]  # label 0 is ignored
    return 100.0 * valid.max() / valid.sum() / num_classes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--work-dir", default="work_dirs/quickstart")
    parser.add_argument("--data-root", default="data/toy_ade20k")
    parser.add_argument("--iters", type=int, default=None, help="training iterations (config: 600)")
    parser.add_argument("--verbose", action="store_true", help="config and warnings on screen")
    args = parser.parse_args()
    quiet_console(args.verbose)
    start = time.time()

    data_root = Path(args.data_root)
    if not (data_root / "images" / "validation").is_dir():
        make_toy_ade20k(data_root)
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = args.work_dir
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[loader].dataset.data_root = str(data_root)
    iters = args.iters or cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1  # evaluate once, below, with the test loop
    warmup, decay = cfg.param_scheduler
    warmup.end = decay.begin = min(warmup.end, max(1, iters // 10))
    decay.end = iters

    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()

    model = load_segmentor(cfg, Path(args.work_dir) / f"iter_{iters}.pth")
    name = sorted((data_root / "images" / "validation").glob("*.jpg"))[0].stem
    picture = Path(args.work_dir) / "prediction.png"
    _picture(
        model,
        data_root / "images" / "validation" / f"{name}.jpg",
        data_root / "annotations" / "validation" / f"{name}.png",
        picture,
    )
    baseline = _majority_class_miou(data_root, len(model.dataset_meta["classes"]))
    print(
        f"\nquickstart: mIoU {metrics['mIoU']:.2f} on {data_root}/images/validation "
        f"(always predicting the commonest class: {baseline:.2f}); picture: {picture}; "
        f"{time.time() - start:.0f} s in all"
    )


if __name__ == "__main__":
    main()
