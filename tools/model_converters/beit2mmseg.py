"""Converts an official BEiT checkpoint (unilm / timm / mmpretrain) to mmseg backbone keys.

    python tools/model_converters/beit2mmseg.py SRC DST

DST then initialises the backbone: ``BEiT(init_cfg=dict(type='Pretrained', checkpoint=DST))``;
relative tables are resized to the model's grid when it loads.
"""

import argparse
import sys

from mmseg_beit.checkpoint import CheckpointError
from mmseg_beit.checkpoint.official import convert_official_file, describe


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("src", help="official checkpoint (.pth / .bin / .safetensors)")
    parser.add_argument("dst", help="output .pth")
    args = parser.parse_args()
    try:
        conversion = convert_official_file(args.src, args.dst)
    except CheckpointError as error:
        print(f"beit2mmseg: {error}", file=sys.stderr)
        return 1
    print(describe(conversion))
    print(f"wrote {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
