"""Turns a folder of images and a folder of masks into a ready config for fine-tuning.

    mmseg-beit prepare-data IMAGES MASKS --out my_data.py --classes NAMES
        [--zero-is-ignore | --zero-is-class] [--from upernet_beit-base_8x2_640x640_160k_ade20k]
        [--checkpoint CKPT | --from-scratch] [--val-fraction 0.1]

Masks are single-channel PNGs named like their images, holding label values. NAMES is a file
(one name per line, class 0 first), a list 'road,car,sky', a known dataset (ade20k) or
'numbered' (class0, class1, ...). What 0 means is said with --zero-is-class (class i stored as
i, 255 = ignore) or --zero-is-ignore (ADE20K: 0 = unlabeled, class i stored as i + 1); without
either, it is read from the name count when only one reading fits it (and said), else asked.
The config is the --from recipe resolved, with your data, classes and a seeded train / val
split (lists beside the config; no file is copied), and only the keys a run reads.
--checkpoint starts from any supported weights: a backbone (official, mmpretrain, Hugging Face)
initialises the backbone; a whole segmentor (say, trained on ADE20K) initialises everything that
fits, and the tensors that do not (the classifiers of other class counts) are listed and learnt
anew. Without it, the recipe's pretrained backbone file must be there (the command says where it
comes from), or --from-scratch trains without one. Then: mmseg-beit train my_data.py.
"""

from __future__ import annotations

import argparse

from mmseg_beit.cli.common import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", help="folder of images")
    parser.add_argument("masks", help="folder of NAME.png masks")
    parser.add_argument("--out", required=True, help="config file to write (.py)")
    parser.add_argument(
        "--classes", metavar="NAMES",
        help="class names: a file (one per line), 'a,b,c', ade20k, or numbered",
    )  # fmt: skip
    zero = parser.add_mutually_exclusive_group()
    zero.add_argument(
        "--zero-is-ignore", dest="zero_label", action="store_const", const="ignore",
        help="0 = unlabeled, ignored; class i stored as i + 1 (ADE20K's convention)",
    )  # fmt: skip
    zero.add_argument(
        "--zero-is-class", dest="zero_label", action="store_const", const="class",
        help="0 is a class: class i stored as i, 255 = ignore",
    )  # fmt: skip
    parser.add_argument(
        "--from", dest="recipe", default="upernet_beit-base_8x2_640x640_160k_ade20k",
        help="shipped config or config file whose recipe to use",
    )  # fmt: skip
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--checkpoint", help="weights to start from (any supported kind)")
    start.add_argument(
        "--from-scratch", action="store_true",
        help="no pretrained backbone (model.backbone.init_cfg=None)",
    )  # fmt: skip
    parser.add_argument("--val-fraction", type=float, default=0.1)


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
            classes=args.classes,
            zero_label=args.zero_label,
            checkpoint=args.checkpoint,
            val_fraction=args.val_fraction,
            from_scratch=args.from_scratch,
        )
    except (ValueError, FileNotFoundError, CheckpointError) as error:
        return fail("prepare-data", error)
    print("\n".join(lines))
    return 0
