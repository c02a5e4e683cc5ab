"""A stop signal (slurm's pre-emption, ``kill``) to a real ``mmseg-beit train`` saves the current
iteration, the process ends with the signal's status, and ``--resume`` continues from there."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from conftest import REPO
from userland import cli, free_port, run, script

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")
# No periodic checkpoint: the only one is the signal's.
OPTIONS = [
    "--cfg-options",
    "train_cfg.max_iters=8",
    "default_hooks.checkpoint.interval=100",
    "default_hooks.logger.interval=1",
    "val_dataloader.dataset.indices=1",
]


def _start(command: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS="1")
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(text: str, log: Path, process: subprocess.Popen, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < end, f"no {text!r} in {timeout} s"
        time.sleep(0.2)


def _saved_step(output: str, name: str = "SIGTERM") -> int:
    found = re.search(rf"{name} received: iteration (\d+) saved to \S+; stopping", output)
    assert found, output[-3000:]
    return int(found.group(1))


def test_sigterm_saves_the_current_iteration_exits_with_its_status_and_resume_continues(
    tmp_path,
):
    log = tmp_path / "train.log"
    training = _start(cli("train", CONFIG, "--work-dir", "work", *OPTIONS), tmp_path, log)
    _wait_for("Iter(train) [2/8]", log, training)
    training.send_signal(signal.SIGTERM)
    assert training.wait(timeout=300) == -signal.SIGTERM
    output = log.read_text()
    step = _saved_step(output)
    assert 2 <= step < 8
    assert f"Iter(train) [{step}/8]" in output and f"Iter(train) [{step + 1}/8]" not in output
    checkpoint = tmp_path / "work" / f"iter_{step}.pth"
    assert torch.load(checkpoint, weights_only=True)["meta"]["iter"] == step
    assert sorted(p.name for p in (tmp_path / "work").glob("*.pth")) == [checkpoint.name]

    resumed = run(cli("train", CONFIG, "--work-dir", "work", "--resume", *OPTIONS), tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    output = resumed.stdout + resumed.stderr
    assert f"resume: resuming from {checkpoint}" in output
    assert f"Iter(train) [{step + 1}/8]" in output and f"Iter(train) [{step}/8]" not in output
    assert torch.load(tmp_path / "work" / "iter_8.pth", weights_only=True)["meta"]["iter"] == 8


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _rank_of(pid: int) -> str | None:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    ranks = [item[5:].decode() for item in environ if item.startswith(b"RANK=")]
    return ranks[0] if ranks else None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_sigterm_to_one_rank_saves_the_iteration_for_all_ranks(tmp_path):
    log = tmp_path / "train.log"
    command = script("dist_train.sh", CONFIG, "2", "--work-dir", "work", *OPTIONS)
    training = _start(command, tmp_path, log)
    _wait_for("Iter(train) [2/8]", log, training)
    rank_1 = next(pid for pid in _descendants(training.pid) if _rank_of(pid) == "1")
    os.kill(rank_1, signal.SIGTERM)  # only rank 1 is told
    assert training.wait(timeout=300) != 0
    step = _saved_step(log.read_text())  # rank 0 saved it
    checkpoint = tmp_path / "work" / f"iter_{step}.pth"
    assert torch.load(checkpoint, weights_only=True)["meta"]["iter"] == step
    assert not list((tmp_path / "work").glob(".*.tmp"))
