"""One live run per work dir: a second ``mmseg-beit train`` (or mmengine Runner) there is refused
at once, naming the folder; a killed run's lock goes with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO
from userland import cli, run

from mmseg_beit.engine import TrainingError

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")
TAKE_LOCK = "from mmseg_beit.engine.hooks import lock_work_dir; lock_work_dir('work'); print('ok')"
HOLD_LOCK = TAKE_LOCK + "; import time; time.sleep(600)"


def _busy_message(work, pid: int) -> str:
    return (
        f"work dir {work} is in use by another run (process {pid}); wait for it to finish or "
        "choose another --work-dir"
    )


def test_second_run_in_a_live_runs_work_dir_is_refused_and_a_killed_runs_lock_goes(tmp_path):
    log = tmp_path / "first.log"
    long_run = ["--cfg-options", "train_cfg.max_iters=1000", "default_hooks.logger.interval=1"]
    with open(log, "w") as handle:
        first = subprocess.Popen(cli("train", CONFIG, "--work-dir", "work", *long_run),
                                 cwd=tmp_path, stdout=handle, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        end = time.monotonic() + 300
        while "Iter(train)" not in log.read_text():
            assert first.poll() is None and time.monotonic() < end, log.read_text()[-3000:]
            time.sleep(0.2)
        second = run(cli("train", CONFIG, "--work-dir", "work"), tmp_path)
        assert second.returncode == 2
        work = (tmp_path / "work").resolve()
        assert second.stderr.strip().splitlines()[-1] == (
            f"mmseg-beit train: {_busy_message(work, first.pid)}"
        )
        assert first.poll() is None  # the live run goes on
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    taken = run([sys.executable, "-c", TAKE_LOCK], tmp_path)  # not left stuck by the kill
    assert taken.returncode == 0 and taken.stdout.strip() == "ok", taken.stderr[-3000:]


def test_mmengine_runner_refuses_a_work_dir_another_process_trains_in(toy_root, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ok"
        cfg = Config.fromfile(CONFIG)
        cfg.work_dir = str(tmp_path / "work")
        cfg.train_dataloader.dataset.data_root = str(toy_root)
        work = (tmp_path / "work").resolve()
        with pytest.raises(TrainingError) as refused:
            Runner.from_cfg(cfg).train()
        assert str(refused.value) == _busy_message(work, holder.pid)
        assert not list(work.glob("*.pth"))
    finally:
        holder.kill()
        holder.wait()
    assert os.path.isdir(work)
