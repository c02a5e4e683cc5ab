"""Trains a config (a file, or a shipped config by name: see ``mmseg-beit configs``).

    mmseg-beit train CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--iters N]
                     [--cfg-options K=V ...]
    tools/dist_train.sh CONFIG GPUS [...]           several processes (CPU processes without GPUs)
    torchrun --nproc_per_node 8 -m mmseg_beit.cli train CONFIG --launcher pytorch

Before the first iteration the dataset is checked (unreadable images, bad labels, size
mismatches, empty splits): problems stop the run with a list, unless --skip-bad-samples.
--resume without CKPT resumes from the newest checkpoint of the work dir that loads.
"""

from __future__ import annotations

import argparse
import os

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
    parser.add_argument(
        "--iters", type=int, metavar="N",
        help="train N iterations, the schedule (warm-up, decay, intervals) scaled to match",
    )  # fmt: skip
    parser.add_argument(
        "--from-scratch", action="store_true",
        help="no pretrained backbone (model.backbone.init_cfg=None): random initial weights",
    )  # fmt: skip
    parser.add_argument("--skip-data-check", action="store_true", help="do not check the data")
    parser.add_argument(
        "--skip-bad-samples", action="store_true",
        help="train without the samples the data check finds bad (they are listed)",
    )  # fmt: skip
    add_launch_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import mmseg_beit  # noqa: F401  (stack fixes, registries)
    from mmseg_beit.apis.schedule import scale_schedule
    from mmseg_beit.apis.weights_check import check_weights, train_from_scratch
    from mmseg_beit.checkpoint import CheckpointError, load_file
    from mmseg_beit.engine import TrainingError
    from mmseg_beit.engine.hooks import lock_work_dir
    from mmseg_beit.runtime.data_check import DataCheckError, check_run_data
    from mmseg_beit.runtime.launch import (
        check_train_batch,
        finish_launch,
        prepare_launch,
        run_config,
        world_size,
    )
    from mmseg_beit.runtime.runner import Runner

    try:
        cfg = run_config(args.config, args.cfg_options, args.work_dir)
        schedule = scale_schedule(cfg, args.iters) if args.iters is not None else []
        if args.amp and cfg.optim_wrapper.get("type", "OptimWrapper") == "OptimWrapper":
            cfg.optim_wrapper.type = "mmseg_beit.AmpOptimWrapper"  # bf16 autocast without a GPU
            cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
        if args.resume:
            cfg.resume = True
            cfg.load_from = None if args.resume == "auto" else args.resume
        if args.resume not in (None, "auto") and not os.path.isfile(args.resume):
            raise FileNotFoundError(f"--resume {args.resume}: no such checkpoint file")
        rank0 = os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")) == "0"
        if rank0 and os.path.isdir(cfg.work_dir):
            lock_work_dir(cfg.work_dir)  # a live run there: refused before the checks
        scratch = train_from_scratch(cfg) if args.from_scratch else ""
        check_weights(cfg, "train")  # every weight file, in one message, before building
        if cfg.load_from:
            load_file(cfg.load_from)  # a named checkpoint must load: fail now, not later
        check_train_batch(cfg, world_size())
        if not args.skip_data_check:
            check_run_data(cfg, ("train", "val"), args.skip_bad_samples)
        if rank0:
            lock_work_dir(cfg.work_dir)  # after the checks: a refused run makes no work dir
    except (FileNotFoundError, ValueError, CheckpointError, DataCheckError, TrainingError) as error:
        return fail("train", error)
    prepare_launch(cfg, args.launcher)
    try:
        runner = Runner.from_cfg(cfg)
        if scratch:
            runner.logger.info(scratch)
        if schedule:
            runner.logger.info(f"--iters {args.iters}: " + "; ".join(schedule))
        runner.train()
    except (CheckpointError, TrainingError) as error:  # a fault that stops the run: one line
        return fail("train", error, code=1)
    finish_launch()
    return 0
