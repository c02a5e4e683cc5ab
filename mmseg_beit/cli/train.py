"""Trains a config (a file, or a shipped config by name: see ``mmseg-beit configs``).

    mmseg-beit train CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--cfg-options K=V ...]
    tools/dist_train.sh CONFIG GPUS [...]           several processes (CPU processes without GPUs)
    torchrun --nproc_per_node 8 -m mmseg_beit.cli train CONFIG --launcher pytorch

Before the first iteration the dataset is checked (unreadable images, bad labels, size
mismatches, empty splits): problems stop the run with a list, unless --skip-bad-samples.
--resume without CKPT resumes from the newest checkpoint of the work dir that loads.
"""

from __future__ import annotations

import argparse

from mmseg_beit.cli.common import add_launch_arguments, fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("--work-dir", help="default: work_dirs/<config name>")
    parser.add_argument(
        "--resume", nargs="?", const="auto", metavar="CKPT",
        help="resume from CKPT, or from the newest checkpoint of the work dir that loads",
    )  # fmt: skip
    parser.add_argument(
        "--amp", action="store_true", help="mixed precision (fp16 on GPUs, bf16 on CPUs)"
    )
    parser.add_argument("--skip-data-check", action="store_true", help="do not check the data")
    parser.add_argument(
        "--skip-bad-samples", action="store_true",
        help="train without the samples the data check finds bad (they are listed)",
    )  # fmt: skip
    add_launch_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from mmengine.runner import Runner

    import mmseg_beit  # noqa: F401  (stack fixes, registries)
    from mmseg_beit.checkpoint import CheckpointError, load_file
    from mmseg_beit.runtime.data_check import DataCheckError, check_run_data
    from mmseg_beit.runtime.launch import (
        check_train_batch,
        finish_launch,
        prepare_launch,
        run_config,
        world_size,
    )

    try:
        cfg = run_config(args.config, args.cfg_options, args.work_dir)
        if args.amp and cfg.optim_wrapper.get("type", "OptimWrapper") == "OptimWrapper":
            cfg.optim_wrapper.type = "mmseg_beit.AmpOptimWrapper"  # bf16 autocast without a GPU
            cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
        if args.resume:
            cfg.resume = True
            cfg.load_from = None if args.resume == "auto" else args.resume
            if cfg.load_from:
                load_file(cfg.load_from)  # a named checkpoint must load: fail now, not later
        check_train_batch(cfg, world_size())
        if not args.skip_data_check:
            check_run_data(cfg, ("train", "val"), args.skip_bad_samples)
    except (FileNotFoundError, ValueError, CheckpointError, DataCheckError) as error:
        return fail("train", error)
    prepare_launch(cfg, args.launcher)
    Runner.from_cfg(cfg).train()
    finish_launch()
    return 0
