"""A diverging run (a learning rate far too large) stops at the first non-finite loss or gradient
norm, naming the iteration, exits non-zero, and leaves only finite checkpoints."""

from __future__ import annotations

import re

import torch
from conftest import REPO
from userland import cli, run

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")


def test_diverging_run_stops_naming_the_iteration_and_saves_no_nan_checkpoint(tmp_path):
    options = [
        "--cfg-options",
        "train_cfg.max_iters=6",
        "default_hooks.checkpoint.interval=1",  # a save every iteration: none may hold a NaN
        "optim_wrapper.optimizer.lr=1e6",
        "val_dataloader.dataset.indices=1",
    ]
    out = run(cli("train", CONFIG, "--work-dir", "work", *options), tmp_path)
    assert out.returncode == 1, out.stderr[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    found = re.fullmatch(
        r"mmseg-beit train: iteration (\d+): loss \S+, gradient norm \S+: training diverged and "
        r"is stopped, unsaved; the last checkpoint, from before it: (\S+)",
        last,
    )
    assert found, last
    stopped = int(found.group(1))
    assert "Traceback" not in out.stderr
    saved = sorted((tmp_path / "work").glob("iter_*.pth"))
    steps = [int(p.stem.split("_")[1]) for p in saved]
    assert max(steps, default=0) == stopped - 1  # the iterations before it saved, not it
    for path in saved:
        state = torch.load(path, weights_only=True)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
