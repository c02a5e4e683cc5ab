"""Confusion matrix of a test run: the label PNGs of ``mmseg-beit test --out DIR`` against the
config's test ground truth.

    mmseg-beit test CONFIG CKPT --out labels/
    python tools/analysis_tools/confusion_matrix.py CONFIG labels/ --out confusion.csv
        [--picture confusion.png] [--top 10]

Writes the counts as CSV (rows: ground truth, columns: prediction, in pixels), optionally a
row-normalised picture, and prints the class pairs most often confused. Predictions are read
in ADE20K convention (0 = other, class i as i + 1), as ``test --out`` writes them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def confusion(dataset, labels_dir: Path, num_classes: int) -> np.ndarray:
    """(classes, classes) pixel counts over the dataset's samples."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        stem = Path(info["img_path"]).stem
        predicted_path = labels_dir / f"{stem}.png"
        predicted = cv2.imread(str(predicted_path), cv2.IMREAD_UNCHANGED)
        if predicted is None:
            raise SystemExit(f"confusion_matrix: no prediction {predicted_path}")
        with Image.open(info["seg_map_path"]) as label:  # palette PNGs as indices, as mmseg
            truth = np.asarray(label).astype(np.int64)
        if info.get("reduce_zero_label"):
            truth = truth - 1
            truth[truth == -1] = 255
        predicted = predicted.astype(np.int64) - 1  # ADE20K convention of test --out
        valid = (truth >= 0) & (truth < num_classes) & (predicted >= 0)
        pairs = truth[valid] * num_classes + predicted[valid]
        matrix += np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, -1)
    return matrix


def picture(matrix: np.ndarray, path: str) -> None:
    """Rows normalised to 100%, dark = high; one 8-pixel cell per class pair."""
    rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = (255 * (1 - rows)).astype(np.uint8)
    image = cv2.resize(image, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(path, image)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("labels", help="folder written by mmseg-beit test --out")
    parser.add_argument("--out", default="confusion.csv", help="CSV of pixel counts")
    parser.add_argument("--picture", help="also write a row-normalised picture (.png)")
    parser.add_argument("--top", type=int, default=10, help="most confused pairs to print")
    args = parser.parse_args()

    from mmengine.registry import DATASETS, init_default_scope

    from mmseg_beit.apis import load_config
    from mmseg_beit.utils.io import atomic_path

    cfg = load_config(args.config)
    init_default_scope(cfg.get("default_scope", "mmseg_beit"))
    dataset_cfg = dict(cfg.test_dataloader.dataset, pipeline=[])
    dataset = DATASETS.build(dataset_cfg)
    classes = list(dataset.metainfo["classes"])
    matrix = confusion(dataset, Path(args.labels), len(classes))
    with atomic_path(args.out) as tmp:
        lines = [",".join(["truth \\ prediction", *classes])]
        lines += [",".join([name, *map(str, row)]) for name, row in zip(classes, matrix)]
        tmp.write_text("\n".join(lines) + "\n")
    if args.picture:
        picture(matrix, args.picture)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    print(f"{matrix.sum()} pixels, {np.trace(matrix) / max(matrix.sum(), 1):.1%} correct")
    for flat in np.argsort(off, axis=None)[::-1][: args.top]:
        truth, predicted = divmod(int(flat), len(classes))
        if off[truth, predicted] == 0:
            break
        share = off[truth, predicted] / max(matrix[truth].sum(), 1)
        print(f"  {classes[truth]:<20} -> {classes[predicted]:<20} {share:6.1%} of its pixels")
    print(f"wrote {args.out}" + (f" and {args.picture}" if args.picture else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
