"""Exports a trained segmentor to ONNX or torch.export (any input size), or to transformers.

    mmseg-beit export CONFIG_OR_CHECKPOINT OUT.onnx [--checkpoint CKPT]
                      [--format onnx|torch-export] [--opset 18]
    mmseg-beit export CHECKPOINT OUT_DIR --format huggingface [--force]

The graph is one window: image (N, 3, H, W) float32 RGB 0..255 -> logits (N, classes, H, W),
normalisation included, batch, height and width dynamic (H, W >= 64). Sliding windows and
multi-scale views stay outside it: `mmseg-beit infer --checkpoint OUT.onnx IMAGES` runs them
with onnxruntime (pip install 'mmseg-beit[deploy]') and writes the same files as PyTorch.

--format huggingface writes a transformers model folder (config.json, model.safetensors,
preprocessor_config.json, README.md) that ``BeitForSemanticSegmentation.from_pretrained`` and
``pipeline("image-segmentation")`` load; what transformers cannot express is refused with the
reasons, before anything is written. ``mmseg-beit convert OUT_DIR model.pth`` converts it back.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmseg_beit.cli.common import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="config, shipped config name, or a training checkpoint")
    parser.add_argument(
        "out", help="output file (.onnx, .pt2 for torch-export), folder for huggingface"
    )
    parser.add_argument("--checkpoint", help="weights (default: SOURCE if a checkpoint)")
    parser.add_argument("--format", choices=("onnx", "torch-export", "huggingface"), default="onnx")
    parser.add_argument(
        "--force", action="store_true", help="huggingface: replace a non-empty OUT folder"
    )
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset")


def run(args: argparse.Namespace) -> int:
    import mmseg_beit  # noqa: F401
    from mmseg_beit.checkpoint import CheckpointError
    from mmseg_beit.deploy import export
    from mmseg_beit.utils.configs import CHECKPOINT_SUFFIXES

    if args.format == "huggingface":
        return _huggingface(args)
    if args.checkpoint is None and Path(args.source).suffix not in CHECKPOINT_SUFFIXES:
        print(
            "mmseg-beit export: no checkpoint given (--checkpoint): the exported model has "
            "random weights",
            file=sys.stderr,
        )
    try:
        out = export(args.source, args.out, args.checkpoint, args.format, args.opset)
    except (CheckpointError, FileNotFoundError, ValueError, ImportError) as error:
        return fail("export", error)
    print(f"wrote {out} ({args.format}; image N x 3 x H x W RGB 0..255 -> logits)")
    return 0


def _huggingface(args: argparse.Namespace) -> int:
    from mmseg_beit.checkpoint import CheckpointError
    from mmseg_beit.deploy.huggingface import export_huggingface
    from mmseg_beit.utils.configs import CHECKPOINT_SUFFIXES

    checkpoint = args.checkpoint or args.source
    if Path(checkpoint).suffix not in CHECKPOINT_SUFFIXES:
        return fail("export", f"{checkpoint}: --format huggingface needs a checkpoint's weights")
    config = None if args.checkpoint is None else args.source
    try:
        out = export_huggingface(checkpoint, args.out, force=args.force, config=config)
    except (CheckpointError, FileNotFoundError, ValueError, ImportError) as error:
        return fail("export", error)
    print(f"wrote {out}/ (transformers BeitForSemanticSegmentation; README.md says how to load it)")
    return 0
