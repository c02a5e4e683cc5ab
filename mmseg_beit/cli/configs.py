"""Lists the configs shipped with the package, with the published mIoU of their recipe.

    mmseg-beit configs [--paths]
    mmseg-beit configs --path NAME      the file of one shipped config, for tools that need a
                                        path (MMSegInferencer(model=PATH), mmseg's tools/*.py)

Any command takes a shipped config by its name (``upernet_beit-tiny_toy``) or a file path.
"""

from __future__ import annotations

import argparse

# Published ADE20K val mIoU of each recipe (unilm / mmseg retrain); see the README.
PUBLISHED = {
    "upernet_beit-base_8x2_640x640_160k_ade20k": "53.6 (unilm), 53.08 (mmseg)",
    "upernet_beit-base_640x640_160k_ade20k_ms": "54.2 (unilm), 53.84 (mmseg)",
    "upernet_beit-large_fp16_8x1_640x640_160k_ade20k": "56.7 (unilm), 56.33 (mmseg)",
    "upernet_beit-large_fp16_640x640_160k_ade20k_ms": "57.0 (unilm), 56.84 (mmseg)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--paths", action="store_true", help="print file paths instead")
    parser.add_argument("--path", metavar="NAME", help="print the absolute path of config NAME")


def run(args: argparse.Namespace) -> int:
    from mmseg_beit.cli.common import fail
    from mmseg_beit.utils.configs import find_config, shipped_configs

    if args.path:
        try:
            print(find_config(args.path).resolve())
        except FileNotFoundError as error:
            return fail("configs", error)
        return 0
    configs = shipped_configs()
    if args.paths:
        print("\n".join(str(p) for p in configs))
        return 0
    width = max(len(p.stem) for p in configs)
    print(f"{'config':<{width}}  published ADE20K val mIoU")
    for path in configs:
        print(f"{path.stem:<{width}}  {PUBLISHED.get(path.stem, '-')}")
    return 0
