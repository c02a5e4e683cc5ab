"""Set-up shared by the training and test tools: configs, launchers (CPU too), checks."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from mmseg_beit.apis.config import is_tta_model, load_config
from mmseg_beit.runtime.allocator import keep_freed_memory


def run_config(source: str, cfg_options: dict | None, work_dir: str | None) -> Config:
    """A config (file or shipped name) with overrides; work dir: work_dirs/<config name>."""
    cfg = load_config(source, cfg_options)
    name = Path(cfg.filename or source).stem
    cfg.work_dir = work_dir or cfg.get("work_dir") or str(Path("work_dirs") / name)
    return cfg


def world_size() -> int:
    """Processes of this run, from torchrun's or slurm's environment (1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE") or os.environ.get("SLURM_NTASKS") or 1)


def check_train_batch(cfg: Config, processes: int) -> None:
    """Stops a run whose BatchNorm would see one value per channel, before anything is built.

    UPerHead's 1x1 pyramid-pooling level has one value per channel and image; BatchNorm cannot
    train on one value (PyTorch raises at the first iteration).
    """
    model = cfg.model.module if is_tta_model(cfg.model) else cfg.model
    norm = str(model.get("decode_head", {}).get("norm_cfg", {}).get("type", ""))
    batch = cfg.train_dataloader.batch_size * processes
    if batch < 2 and "BN" in norm:
        raise SystemExit(
            f"train: {cfg.train_dataloader.batch_size} image per process on {processes} process "
            f"cannot train: the {norm} after UPerHead's 1x1 pyramid pooling needs at least 2 "
            "values per channel. Run 2 or more processes (tools/dist_train.sh CONFIG 2: SyncBN "
            "synchronises them, on CPU too) or set --cfg-options train_dataloader.batch_size=2."
        )


def cap_loader_workers(cfg: Config, processes_here: int) -> None:
    """Gives each data loader at most one worker per CPU core of this process (the machine's
    cores shared among its processes), and at least one.

    Without a GPU the workers share the cores with the model itself: more workers than cores
    only add process forks and contention (a 2-iteration run of a shipped config on 2 cores
    took about 4 s less with 2 workers per loader than with the configs' 4).
    """
    available = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )  # macOS has no affinity call
    cores = max(1, available // max(1, processes_here))
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(name)
        if loader and loader.get("num_workers", 0) > cores:
            print_log(
                f"{name}: {loader.num_workers} workers -> {cores}, the CPU cores of this process "
                "(no GPU: workers and model share the cores)",
                logger="current",
            )
            loader.num_workers = cores


def prepare_launch(cfg: Config, launcher: str) -> Config:
    """Sets the launcher; without CUDA, uses gloo, CPU-only DDP, a heap that keeps freed memory
    (:func:`keep_freed_memory`) and no more data workers than cores (:func:`cap_loader_workers`).

    mmengine's own ``init_dist`` calls ``torch.cuda.set_device``, so on CPU the process group is
    started here (mmengine then finds it and skips its own start).
    """
    cfg.launcher = launcher
    if torch.cuda.is_available():
        return cfg
    keep_freed_memory()
    cap_loader_workers(cfg, int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
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
