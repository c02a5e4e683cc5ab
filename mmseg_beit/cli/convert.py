"""Converts pretrained or fine-tuned weights to this package's (MMSegmentation's) keys.

    mmseg-beit convert SRC DST [--config-out CFG.py] [--blocks unilm|transformers] [--grid H W]
                       [--backbone-only]

SRC: an official BEiT (unilm / timm) or mmpretrain checkpoint, a Hugging Face ``save_pretrained``
folder or weights file, or a Hugging Face hub id found in the local Hugging Face cache
(``microsoft/beit-base-finetuned-ade-640-640``), or a whole segmentor's checkpoint (this
package's or mmseg's training checkpoint). The kind is detected. DST's suffix picks the
format (.pth or .safetensors); DST is never one of the inputs, and nothing is written when any
part fails. A Hugging Face segmentation model becomes a full segmentor checkpoint that carries
its config (test pipeline, preprocessor, classes, palette): ``mmseg-beit infer --checkpoint DST``
and ``mmseg-beit test DST`` need nothing else. A whole segmentor stays whole (config and
classes kept), or with ``--backbone-only`` becomes a backbone, the summary counting every dropped
tensor by part.
"""

from __future__ import annotations

import argparse

from mmseg_beit.cli.common import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", help="checkpoint file, Hugging Face folder or hub id")
    parser.add_argument("dst", help="output .pth or .safetensors")
    parser.add_argument(
        "--config-out", metavar="CFG.py", help="also write the model's config (Hugging Face)"
    )
    parser.add_argument(
        "--blocks", choices=("unilm", "transformers"), default="unilm",
        help="which blocks feed the neck (Hugging Face; see docs/checkpoints.md)",
    )  # fmt: skip
    parser.add_argument(
        "--backbone-only", action="store_true",
        help="keep only the backbone of a whole segmentor (the summary counts the rest by part)",
    )  # fmt: skip
    parser.add_argument(
        "--grid", type=int, nargs=2, metavar=("H", "W"),
        help="token grid of non-square relative tables when the file has no index",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import mmseg_beit  # noqa: F401
    from mmseg_beit.checkpoint import CheckpointError
    from mmseg_beit.checkpoint.convert import convert

    try:
        lines = convert(
            args.src, args.dst, args.config_out, args.blocks, args.grid, args.backbone_only
        )
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        return fail("convert", error, code=1)
    print("\n".join(lines))
    return 0
