"""Segments your own images: a colour overlay with a legend and a label PNG for each.

    python tools/infer.py IMAGES... --config C --checkpoint K [--out-dir D] [--device cpu|cuda]
                          [--opacity A] [--tta]

IMAGES: files, folders and glob patterns (quote them: 'photos/**/*.jpg'). Writes
D/NAME_overlay.png and D/NAME.png (ADE20K convention: 0 = other, class i as i + 1) at each
image's original size. Unreadable files are reported and skipped; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from mmengine.utils import ProgressBar

from mmseg_beit.apis import keep_freed_memory, load_segmentor, read_image, segment
from mmseg_beit.apis.files import collect_images, save_prediction
from mmseg_beit.checkpoint import CheckpointError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("images", nargs="+", help="image files, folders or glob patterns")
    parser.add_argument("--config", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out-dir", default="outputs")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--opacity", type=float, default=0.5, help="overlay colour weight, 0..1")
    parser.add_argument("--tta", action="store_true", help="multi-scale + flip (slower)")
    return parser.parse_args()


def _metadata(model) -> tuple[list[str], list]:
    meta = model.dataset_meta or {}
    if meta.get("classes") and meta.get("palette"):
        return list(meta["classes"]), list(meta["palette"])
    from mmseg.datasets import ADE20KDataset

    return list(ADE20KDataset.METAINFO["classes"]), list(ADE20KDataset.METAINFO["palette"])


def main() -> int:
    args = parse_args()
    if not 0.0 <= args.opacity <= 1.0:
        print(f"infer: --opacity must be within 0..1, got {args.opacity}", file=sys.stderr)
        return 2
    paths, errors = collect_images(args.images)
    if args.device == "cpu":
        keep_freed_memory()
    try:
        model = load_segmentor(args.config, args.checkpoint, args.device, tta=args.tta)
    except (CheckpointError, ValueError, FileNotFoundError) as error:
        print(f"infer: {error}", file=sys.stderr)
        return 2
    classes, palette = _metadata(model)
    images_with, pixel_share, seconds, written = Counter(), Counter(), [], set()
    progress = ProgressBar(len(paths)) if paths else None
    for path in paths:
        try:
            image = read_image(path)
            start = time.perf_counter()
            labels = segment(model, image)[0].labels
            seconds.append(time.perf_counter() - start)
            name, copy = path.stem, 1
            while name in written:  # same file name in two folders
                copy += 1
                name = f"{path.stem}_{copy}"
            written.add(name)
            save_prediction(
                args.out_dir, name, image[..., ::-1], labels, classes, palette, args.opacity
            )
            ids, counts = np.unique(labels, return_counts=True)
            for i, count in zip(ids, counts):
                images_with[classes[i]] += 1
                pixel_share[classes[i]] += count / labels.size
        except (ValueError, OSError) as error:
            errors.append(str(error))
        progress.update()
    print()
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if seconds:
        print(f"{len(seconds)} images in {Path(args.out_dir)}/, {np.mean(seconds):.2f} s per image")
        print("classes found (images, mean share of pixels):")
        for name, count in images_with.most_common():
            print(f"  {name:<20} {count:>4}  {100 * pixel_share[name] / len(seconds):5.1f}%")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
