"""Evaluates a checkpoint (sliding window / whole; multi-scale + flip with --tta or *_ms configs).

    python tools/test.py CONFIG CHECKPOINT [--eval mIoU [mDice mFscore]] [--tta] [--out DIR]
                         [--show-dir DIR] [--work-dir DIR] [--cfg-options k=v]
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [args]

--out writes label PNGs in ADE20K convention (0 = other, classes 1..N); --show-dir writes, as
tools/infer.py does, NAME_overlay.png (colours and a legend) and NAME.png (labels) per image.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mmengine.runner import Runner

import mmseg_beit  # noqa: F401  (stack fixes, registries)
from mmseg_beit.apis.inference import load_weights
from mmseg_beit.apis.launch import (
    add_launch_arguments,
    enable_tta,
    finish_launch,
    load_config,
    prepare_launch,
)
from mmseg_beit.checkpoint import CheckpointError

METRICS = ("mIoU", "mDice", "mFscore")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument(
        "--eval", nargs="+", choices=METRICS, help="metrics (default: the config's)"
    )
    parser.add_argument("--tta", action="store_true", help="multi-scale + flip test")
    parser.add_argument("--out", help="folder for label PNGs")
    parser.add_argument("--show-dir", help="folder for overlay pictures (+ label PNGs)")
    parser.add_argument("--work-dir")
    add_launch_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    if args.eval:
        cfg.test_evaluator.iou_metrics = list(args.eval)
    if args.out:
        # Every rank writes its own images; mmseg's IoUMetric makes the folder on rank 0 only,
        # so another rank could reach its first write before it exists.
        Path(args.out).mkdir(parents=True, exist_ok=True)
        cfg.test_evaluator.output_dir = args.out
        cfg.test_evaluator.keep_results = True
    if args.show_dir:
        cfg.custom_hooks = [
            *cfg.get("custom_hooks", []),
            dict(type="PredictionWriterHook", out_dir=args.show_dir),
        ]
    if args.tta or cfg.get("multi_scale_test", False):
        enable_tta(cfg)
    prepare_launch(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    try:
        load_weights(runner.model, args.checkpoint)
    except CheckpointError as error:
        raise SystemExit(f"test: {error}") from None
    runner.test()
    finish_launch()


if __name__ == "__main__":
    main()
