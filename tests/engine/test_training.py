"""Runner training on the toy config: stop, resume, and reach the same weights and losses (dropout
and loader workers as shipped); quickstart."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

CONFIG = REPO / "configs/beit/upernet_beit-tiny_toy.py"


class _Interrupted(Exception):
    pass


class _RecordLosses(Hook):
    def __init__(self) -> None:
        self.losses: dict[int, float] = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.losses[runner.iter + 1] = float(outputs["loss"])


class _StopAfter(Hook):
    priority = "LOWEST"  # after the checkpoint hook has saved

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            raise _Interrupted


def _cfg(toy_root, work_dir, iters: int = 6) -> Config:
    """The toy config as shipped (dropout 0.1, 2 persistent loader workers), 6 iterations."""
    cfg = Config.fromfile(str(CONFIG))
    cfg.work_dir = str(work_dir)
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[name].dataset.data_root = str(toy_root)
    cfg.val_dataloader.dataset.indices = 1
    cfg.train_dataloader.batch_size = 2
    assert cfg.model.decode_head.dropout_ratio == 0.1  # what resuming must reproduce
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler = [
        dict(type="PolyLR", power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=iters)
    ]
    cfg.default_hooks.checkpoint.interval = 3
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.pop("visualization")
    return cfg


def _weights(runner) -> dict:
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def test_interrupted_run_resumes_to_the_same_weights_and_losses(toy_root, tmp_path):
    straight = Runner.from_cfg(_cfg(toy_root, tmp_path / "straight"))
    straight_losses = _RecordLosses()
    straight.register_hook(straight_losses)
    straight.train()
    expected = _weights(straight)

    first = Runner.from_cfg(_cfg(toy_root, tmp_path / "resumed"))
    losses = _RecordLosses()
    first.register_hook(losses, priority="VERY_HIGH")
    first.register_hook(_StopAfter(3))
    with pytest.raises(_Interrupted):
        first.train()
    checkpoint = tmp_path / "resumed" / "iter_3.pth"
    assert checkpoint.is_file()

    cfg = _cfg(toy_root, tmp_path / "resumed")
    cfg.resume = True
    cfg.load_from = str(checkpoint)
    resumed = Runner.from_cfg(cfg)
    resumed.register_hook(losses)
    resumed.train()
    assert resumed.iter == 6
    got = _weights(resumed)
    assert any(not torch.equal(expected[k], _weights(first)[k]) for k in expected)  # it did move
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, atol=1e-6, rtol=1e-5, msg=key)
    assert sorted(losses.losses) == [1, 2, 3, 4, 5, 6]
    assert losses.losses == pytest.approx(straight_losses.losses, rel=1e-6)  # same dropout draws


def test_quickstart_trains_evaluates_and_draws(toy_root, tmp_path):
    work_dir = tmp_path / "quick"
    command = [
        sys.executable,
        str(REPO / "tools/quickstart.py"),
        "--iters",
        "12",
        "--work-dir",
        str(work_dir),
        "--data-root",
        str(toy_root),
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "quickstart: mIoU" in out.stdout
    assert re.search(r"\|\s+Class\s+\|\s+IoU", out.stdout + out.stderr)  # per-class IoU table
    picture = work_dir / "prediction.png"
    assert picture.is_file() and picture.stat().st_size > 1000
