"""Trains a segmentor from a config (mmengine Runner).

python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options k=v]
tools/dist_train.sh CONFIG GPUS [args]     # several processes / machines (torchrun)
"""

from __future__ import annotations

import argparse

from mmengine.runner import Runner

import mmseg_beit  # noqa: F401  (stack fixes, registries)
from mmseg_beit.apis.launch import add_launch_arguments, finish_launch, load_config, prepare_launch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("config")
    parser.add_argument("--work-dir", help="default: work_dirs/<config name>")
    parser.add_argument(
        "--resume", nargs="?", const="auto", metavar="CKPT",
        help="resume from CKPT, or from the latest checkpoint in the work dir",
    )  # fmt: skip
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision (fp16)")
    add_launch_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    if args.amp and cfg.optim_wrapper.get("type", "OptimWrapper") == "OptimWrapper":
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.loss_scale = "dynamic"
    if args.resume:
        cfg.resume = True
        cfg.load_from = None if args.resume == "auto" else args.resume
    prepare_launch(cfg, args.launcher)
    Runner.from_cfg(cfg).train()
    finish_launch()


if __name__ == "__main__":
    main()
