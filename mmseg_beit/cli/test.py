"""Evaluates a checkpoint: sliding window or whole image; multi-scale + flip with ``--tta`` or
an ``*_ms`` config.

    mmseg-beit test CONFIG CHECKPOINT [--eval mIoU [mDice mFscore]] [--tta] [--out DIR]
                    [--show-dir DIR] [--work-dir DIR] [--cfg-options K=V ...]
    mmseg-beit test CHECKPOINT ...                   a checkpoint written by training
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [...]

--out writes label PNGs in ADE20K convention (0 = other, classes 1..N); --show-dir writes, as
``mmseg-beit infer`` does, NAME_overlay.png (colours and a legend) and NAME.png per image;
neither may be (or be inside) a folder of the test dataset. A checkpoint trained on other class
names than the test dataset's is refused unless --allow-class-mismatch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mmseg_beit.cli.common import add_launch_arguments, fail

METRICS = ("mIoU", "mDice", "mFscore")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file, shipped config name, or a checkpoint")
    parser.add_argument("checkpoint", nargs="?", help="weights (default: CONFIG if a checkpoint)")
    parser.add_argument("--eval", nargs="+", choices=METRICS, help="metrics (default: config's)")
    parser.add_argument("--tta", action="store_true", help="multi-scale + flip test")
    parser.add_argument("--out", metavar="DIR", help="folder for label PNGs")
    parser.add_argument(
        "--show-dir", metavar="DIR",
        help="folder for NAME_overlay.png, NAME.png, NAME_compare.png (image | truth | prediction)",
    )  # fmt: skip
    parser.add_argument("--work-dir", help="default: work_dirs/<config name>")
    parser.add_argument("--skip-data-check", action="store_true", help="do not check the data")
    parser.add_argument(
        "--allow-class-mismatch", action="store_true",
        help="test a checkpoint whose class names differ from the dataset's",
    )  # fmt: skip
    add_launch_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import mmseg_beit  # noqa: F401  (stack fixes, registries)
    from mmseg_beit.apis import enable_tta, load_weights
    from mmseg_beit.apis.dataset_info import (
        check_classes,
        checkpoint_classes,
        config_classes,
        dataset_folders,
    )
    from mmseg_beit.checkpoint import CheckpointError, load_file
    from mmseg_beit.evaluation import LabelRangeError
    from mmseg_beit.runtime.data_check import DataCheckError, check_run_data
    from mmseg_beit.runtime.launch import finish_launch, prepare_launch, run_config
    from mmseg_beit.runtime.runner import Runner
    from mmseg_beit.utils.configs import CHECKPOINT_SUFFIXES
    from mmseg_beit.utils.io import check_outside_inputs

    checkpoint = args.checkpoint or args.config
    for option in ("out", "show_dir"):
        value = getattr(args, option)
        if value and (Path(value).suffix or Path(value).is_file()):
            flag = "--" + option.replace("_", "-")
            return fail("test", f"{flag} takes a folder for PNG files, not {value!r}")
    # before anything is built (a missing checkpoint as CONFIG: find_config says so)
    if args.checkpoint is None and Path(args.config).suffix not in CHECKPOINT_SUFFIXES:
        return fail("test", f"no checkpoint given: mmseg-beit test {args.config} CHECKPOINT")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        return fail("test", f"{args.checkpoint}: no such checkpoint file")
    try:
        cfg = run_config(args.config, args.cfg_options, args.work_dir)
        cfg.load_from = None  # the checkpoint under test is loaded below, and nothing on top
        for option in ("out", "show_dir"):
            if getattr(args, option):
                flag = "--" + option.replace("_", "-")
                check_outside_inputs(getattr(args, option), dataset_folders(cfg), flag)
        raw = load_file(checkpoint)
        if not args.allow_class_mismatch:
            where = f"the test dataset ({cfg.test_dataloader.dataset.get('type')})"
            check_classes(checkpoint, checkpoint_classes(raw), config_classes(cfg), where)
        if args.eval:
            cfg.test_evaluator.iou_metrics = list(args.eval)
        if args.out:
            cfg.test_evaluator.output_dir = args.out
            cfg.test_evaluator.keep_results = True
        if args.show_dir:
            writer = dict(type="mmseg_beit.PredictionWriterHook", out_dir=args.show_dir)
            cfg.custom_hooks = [*cfg.get("custom_hooks", []), writer]
        if args.tta:
            enable_tta(cfg)
        if not args.skip_data_check:
            check_run_data(cfg, ("test",), skip_bad=False)
        prepare_launch(cfg, args.launcher)
        runner = Runner.from_cfg(cfg)
        load_weights(runner.model, checkpoint, raw)
    except (FileNotFoundError, ValueError, CheckpointError, DataCheckError) as error:
        return fail("test", error)
    try:
        runner.test()
    except LabelRangeError as error:
        return fail("test", error)
    finish_launch()
    return 0
