"""CPU launch set-up: data loaders get no more workers than the process has cores."""

from __future__ import annotations

import os

from mmengine.config import Config

from mmseg_beit.runtime.launch import cap_loader_workers


def _cfg(train: int, val: int) -> Config:
    return Config(
        dict(
            train_dataloader=dict(num_workers=train, batch_size=2),
            val_dataloader=dict(num_workers=val, batch_size=1),
            test_dataloader=None,
        )
    )


def test_loader_workers_are_capped_at_the_cores_each_process_has(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    cfg = _cfg(train=8, val=3)
    cap_loader_workers(cfg, processes_here=2)  # 8 cores / 2 processes
    assert (cfg.train_dataloader.num_workers, cfg.val_dataloader.num_workers) == (4, 3)


def test_every_process_keeps_at_least_one_worker(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    cfg = _cfg(train=4, val=4)
    cap_loader_workers(cfg, processes_here=4)
    assert (cfg.train_dataloader.num_workers, cfg.val_dataloader.num_workers) == (1, 1)
