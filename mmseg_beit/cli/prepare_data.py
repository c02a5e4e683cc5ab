"""Turns a folder of images and a folder of masks into a ready config for fine-tuning.

    mmseg-beit prepare-data IMAGES MASKS --out my_data.py [--classes names.txt]
        [--from upernet_beit-base_8x2_640x640_160k_ade20k] [--checkpoint CKPT]
        [--val-fraction 0.1] [--zero-is-ignore]

Masks are single-channel PNGs named like their images (class i stored as i, 255 = ignore; with
--zero-is-ignore, ADE20K's convention: 0 = ignore, class i stored as i + 1). The config is the
--from recipe with your data, classes and a seeded train / val split (lists beside the config;
no file is copied). --checkpoint starts from any supported weights: a backbone (official,
mmpretrain, Hugging Face) initialises the backbone; a whole segmentor (say, trained on ADE20K)
initialises everything that fits, and the tensors that do not (the classifiers of other class
counts) are listed and learnt anew. Then: mmseg-beit train my_data.py.
"""

from __future__ import annotations

import argparse

from mmseg_beit.cli.common import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", help="folder of images")
    parser.add_argument("masks", help="folder of NAME.png masks")
    parser.add_argument("--out", required=True, help="config file to write (.py)")
    parser.add_argument("--classes", help="text file with one class name per line")
    parser.add_argument(
        "--from", dest="recipe", default="upernet_beit-base_8x2_640x640_160k_ade20k",
        help="shipped config or config file whose recipe to use",
    )  # fmt: skip
    parser.add_argument("--checkpoint", help="weights to start from (any supported kind)")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--zero-is-ignore", action="store_true", help="masks in ADE20K style")


def run(args: argparse.Namespace) -> int:
    import mmseg_beit  # noqa: F401
    from mmseg_beit.apis.finetune import finetune_config
    from mmseg_beit.checkpoint import CheckpointError

    try:
        lines = finetune_config(
            args.images,
            args.masks,
            args.out,
            recipe=args.recipe,
            classes_file=args.classes,
            checkpoint=args.checkpoint,
            val_fraction=args.val_fraction,
            zero_is_ignore=args.zero_is_ignore,
        )
    except (ValueError, FileNotFoundError, CheckpointError) as error:
        return fail("prepare-data", error)
    print("\n".join(lines))
    return 0
