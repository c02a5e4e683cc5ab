"""Converts Hugging Face BEiT / ViT weights to this package's (mmseg) keys.

    python tools/model_converters/hf2mmseg.py SRC DST [--config-out CFG.py] [--blocks unilm]

SRC: a ``save_pretrained`` folder, or a ``model.safetensors`` / ``pytorch_model.bin`` file (with
``config.json`` beside it). ``BeitForSemanticSegmentation`` gives a full segmentor checkpoint
(class names in its meta); ``BeitModel``, ``BeitForImageClassification``,
``BeitForMaskedImageModeling`` and ``ViTModel`` give a backbone state dict.

``--config-out`` writes the matching model config. transformers feeds its neck blocks
``i - 2`` for its ``out_indices`` ``i``; the released BEiT weights were trained (by unilm) on
blocks ``i``. ``--blocks unilm`` (default) configures the original model; ``--blocks
transformers`` reproduces transformers' outputs exactly.
"""

import argparse
import sys

from mmengine.config import Config

from mmseg_beit.checkpoint import CheckpointError
from mmseg_beit.checkpoint.huggingface import (
    convert_huggingface_file,
    read_huggingface,
    segmentor_config,
)
from mmseg_beit.io import atomic_path


def model_config(src: str, blocks: str) -> dict:
    _, config = read_huggingface(src)
    if not config:
        raise CheckpointError(f"{src}: no config.json beside it, cannot write a config")
    try:
        return segmentor_config(config, blocks)
    except ValueError as error:
        raise CheckpointError(f"{src}: {error}") from error


def write_config(model: dict, path: str) -> None:
    with atomic_path(path) as tmp:
        Config(dict(model=model)).dump(str(tmp))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--config-out", help="also write the model config (Python) here")
    parser.add_argument("--blocks", choices=("unilm", "transformers"), default="unilm")
    args = parser.parse_args()
    try:
        model = model_config(args.src, args.blocks) if args.config_out else None
        meta = convert_huggingface_file(args.src, args.dst)
        if model is not None:
            write_config(model, args.config_out)
    except CheckpointError as error:
        print(f"hf2mmseg: {error}", file=sys.stderr)
        return 1
    classes = len(meta.get("dataset_meta", {}).get("classes", []))
    print(
        f"wrote {args.dst} ({meta.get('huggingface_architectures')}, {classes or 'no'} class names)"
    )
    if args.config_out:
        print(f"wrote {args.config_out} (blocks: {args.blocks})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
