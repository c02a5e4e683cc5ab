"""Segments your own images: a colour overlay with a legend and a label PNG for each.

    mmseg-beit infer IMAGES... --checkpoint CKPT [--config CONFIG] [--out-dir DIR]
                     [--device cpu|cuda[:N]] [--opacity A] [--tta] [--precision bf16]
    mmseg-beit infer IMAGES... --checkpoint MODEL.onnx [--backend onnxruntime]

IMAGES: files, folders and glob patterns (quote them: 'photos/**/*.jpg'). Writes
DIR/NAME_overlay.png and DIR/NAME.png (ADE20K convention: 0 = other, class i as i + 1) at each
image's original size; DIR may not be a folder of the input images. A checkpoint
written by training carries its config and class names; --config is then optional, and a
--config whose dataset has other class names is refused unless --allow-class-mismatch. A
model from ``mmseg-beit export`` (.onnx: onnxruntime; .pt2: torch.export) runs through the same
windows and writes the same files. An image that fails, for any reason (unreadable, out of
memory), is reported and the rest are still processed; the exit code is then 1. Labels are
computed in strips of rows, so memory does not grow with classes x pixels.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from mmseg_beit.cli.common import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mmengine.config import DictAction

    parser.add_argument("images", nargs="+", help="image files, folders or glob patterns")
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="weights (.pth / .safetensors) or exported (.onnx / .pt2)",
    )
    parser.add_argument(
        "--backend", choices=("pytorch", "onnxruntime", "torch-export"),
        help="default: from the checkpoint's suffix",
    )  # fmt: skip
    parser.add_argument("--config", help="config file or shipped name (default: the checkpoint's)")
    parser.add_argument("--out-dir", default="outputs")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--opacity", type=float, default=0.5, help="overlay colour weight, 0..1")
    parser.add_argument("--tta", action="store_true", help="multi-scale + flip (slower)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16"), help="default: config's")
    parser.add_argument(
        "--allow-class-mismatch", action="store_true",
        help="run a checkpoint whose class names differ from those of --config's dataset",
    )  # fmt: skip
    parser.add_argument(
        "--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE",
        help="override config keys",
    )  # fmt: skip


def _check_device(device: str) -> str | None:
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError:
        return f"--device {device!r} is not a device (cpu, cuda, cuda:N)"
    if parsed.type == "cuda" and not torch.cuda.is_available():
        return f"--device {device}: this PyTorch build or machine has no CUDA GPU; use --device cpu"
    if parsed.type not in ("cpu", "cuda"):
        return f"--device {device}: only cpu and cuda are supported"
    return None


_SUFFIXES = {"onnxruntime": ".onnx", "torch-export": ".pt2"}


def _check_backend(backend: str | None, checkpoint: str) -> str | None:
    suffix = Path(checkpoint).suffix
    if backend in _SUFFIXES and suffix != _SUFFIXES[backend]:
        return f"--backend {backend} runs a {_SUFFIXES[backend]} file (mmseg-beit export)"
    if backend == "pytorch" and suffix in _SUFFIXES.values():
        return f"--backend pytorch runs checkpoints, not {checkpoint}"
    return None


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.opacity <= 1.0:
        return fail("infer", f"--opacity must be within 0..1, got {args.opacity}")
    from mmseg_beit.utils.images import collect_images
    from mmseg_beit.utils.io import check_outside_inputs

    paths, errors = collect_images(args.images)
    if not paths:
        return fail("infer", "no input images: " + "; ".join(errors))
    problem = _check_device(args.device) or _check_backend(args.backend, args.checkpoint)
    if problem:
        return fail("infer", problem)
    try:
        folders = (p.parent for p in paths)
        check_outside_inputs(args.out_dir, folders, "--out-dir", subfolders=False)
    except ValueError as error:
        return fail("infer", error)

    import numpy as np
    from mmengine.utils import ProgressBar

    import mmseg_beit  # noqa: F401
    from mmseg_beit.apis import load_segmentor, segment
    from mmseg_beit.checkpoint import CheckpointError
    from mmseg_beit.runtime.allocator import keep_freed_memory
    from mmseg_beit.utils.images import read_image
    from mmseg_beit.utils.visualization import dataset_classes, save_prediction

    if args.device == "cpu":
        keep_freed_memory()
    try:
        model = load_segmentor(
            args.config or args.checkpoint,
            args.checkpoint,
            args.device,
            cfg_options=args.cfg_options,
            tta=args.tta,
            precision=args.precision,
            allow_class_mismatch=args.allow_class_mismatch,
        )
    except (CheckpointError, ValueError, FileNotFoundError, ImportError) as error:
        return fail("infer", error)
    classes, palette = dataset_classes(model.dataset_meta)
    images_with, pixel_share, seconds, written = Counter(), Counter(), [], set()
    progress = ProgressBar(len(paths))
    for path in paths:
        try:
            image = read_image(path)
            start = time.perf_counter()
            labels = segment(model, image, channel_order="bgr")[0].labels
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
        except Exception as error:  # one bad image never stops the batch
            errors.append(f"{path}: {type(error).__name__}: {error}")
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
