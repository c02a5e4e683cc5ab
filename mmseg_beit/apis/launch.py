"""Shared set-up of the training and test tools: config overrides and CPU-friendly launching."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from mmengine.config import Config, ConfigDict, DictAction

from mmseg_beit.apis.allocator import keep_freed_memory


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank``, as the tools share them."""
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0)


def load_config(path: str, cfg_options: dict | None, work_dir: str | None) -> Config:
    """A config with command-line overrides; work dir defaults to work_dirs/<config name>."""
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = work_dir or cfg.get("work_dir") or str(Path("work_dirs") / Path(path).stem)
    return cfg


def replace_sync_bn(node):
    """Turns every ``SyncBN`` norm config into ``BN`` (for runs without CUDA)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "type" and value == "SyncBN":
                node[key] = "BN"
            else:
                replace_sync_bn(value)
    elif isinstance(node, list):
        for value in node:
            replace_sync_bn(value)
    return node


def enable_tta(cfg: Config) -> Config:
    """Tests with ``tta_pipeline`` through ``tta_model`` (SegTTAModel averages the views)."""
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg


def prepare_launch(cfg: Config, launcher: str) -> Config:
    """Sets the launcher; without CUDA, uses gloo, plain BN, CPU-only DDP and a heap that keeps
    freed memory (:func:`keep_freed_memory`).

    mmengine's own ``init_dist`` calls ``torch.cuda.set_device``, so on CPU the process group is
    started here (mmengine then finds it and skips its own start).
    """
    cfg.launcher = launcher
    if torch.cuda.is_available():
        return cfg
    keep_freed_memory()
    replace_sync_bn(cfg.model)
    if launcher == "none":
        return cfg
    cfg.env_cfg = ConfigDict(cfg.get("env_cfg", {}))
    cfg.env_cfg.setdefault("dist_cfg", {})["backend"] = "gloo"
    cfg.model_wrapper_cfg = dict(type="MMDistributedDataParallel", device_ids=None)
    if launcher == "pytorch" and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="gloo")
    os.environ.setdefault("LOCAL_RANK", "0")
    return cfg


def finish_launch() -> None:
    """Ends a distributed run cleanly: every rank waits, then the process group is destroyed.

    Left to interpreter shutdown, gloo's threads can be torn down while another rank still
    talks to them, and the process aborts ("terminate called without an active exception").
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
