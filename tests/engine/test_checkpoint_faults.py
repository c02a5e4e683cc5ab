"""Faults while checkpointing: a kill during a save, a truncated newest checkpoint, a resume with
nothing to resume. Run as users run training (``mmseg-beit train``), on the toy config."""

from __future__ import annotations

import os
import sys

import pytest
import torch
from conftest import REPO
from userland import cli, run

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")
FAST = ["--cfg-options", "train_cfg.max_iters=6", "default_hooks.checkpoint.interval=2"]
# mmengine writes a checkpoint through LocalBackend.put: write half, then die like `kill -9`.
KILLED_IN_SECOND_SAVE = """
import os, signal, sys
from mmengine.fileio import LocalBackend
from mmseg_beit.cli import main

real, saves = LocalBackend.put, []

def put(self, obj, filepath):
    saves.append(filepath)
    if len(saves) == 2:
        with open(filepath, "wb") as handle:
            handle.write(obj[: len(obj) // 2])
            handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, obj, filepath)

LocalBackend.put = put
sys.exit(main(sys.argv[1:]))
"""


def test_kill_during_save_keeps_the_previous_checkpoint_and_resume_continues(tmp_path):
    args = [
        "train",
        CONFIG,
        "--work-dir",
        "work",
        *FAST,
        "default_hooks.checkpoint.max_keep_ckpts=1",
    ]
    killed = run([sys.executable, "-c", KILLED_IN_SECOND_SAVE, *args], tmp_path)
    assert killed.returncode == -9
    work = tmp_path / "work"
    assert sorted(p.name for p in work.glob("*.pth")) == ["iter_2.pth"]  # not deleted first
    assert torch.load(work / "iter_2.pth", weights_only=True)["meta"]["iter"] == 2
    assert (work / "last_checkpoint").read_text().endswith("iter_2.pth")

    resumed = run(cli("train", CONFIG, "--work-dir", "work", "--resume", *FAST), tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resume: resuming from {work / 'iter_2.pth'}" in resumed.stdout + resumed.stderr
    assert not list(work.glob(".*.tmp"))  # the half-written file is cleaned up
    assert torch.load(work / "iter_6.pth", weights_only=True)["meta"]["iter"] == 6
    # max_keep_ckpts=2 (the toy config's): the resumed run, saving 4 and 6, deleted iter_2 from
    # before the kill (the kept list travels in the checkpoint)
    assert sorted(p.name for p in work.glob("*.pth")) == ["iter_4.pth", "iter_6.pth"]


def test_truncated_newest_checkpoint_is_skipped_when_resuming(tmp_path):
    first = run(cli("train", CONFIG, "--work-dir", "work", *FAST[:1], "train_cfg.max_iters=4",
                    "default_hooks.checkpoint.interval=2"), tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    newest = tmp_path / "work" / "iter_4.pth"
    newest.write_bytes(newest.read_bytes()[:1000])
    resumed = run(cli("train", CONFIG, "--work-dir", "work", "--resume", *FAST), tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    output = resumed.stdout + resumed.stderr
    assert f"resume: skipping {newest}: {newest}: truncated or corrupt checkpoint" in output
    assert f"resume: resuming from {tmp_path / 'work' / 'iter_2.pth'}" in output


def test_resume_with_nothing_to_resume_says_so_loudly(tmp_path):
    out = run(cli("train", CONFIG, "--work-dir", "work", "--resume", *FAST), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "resume: NOTHING TO RESUME in" in out.stdout + out.stderr


def test_resume_from_a_named_checkpoint_that_does_not_load_fails_before_training(tmp_path):
    (tmp_path / "broken.pth").write_bytes(b"PK\x03\x04 half a zip")
    out = run(cli("train", CONFIG, "--resume", "broken.pth", *FAST), tmp_path)
    assert out.returncode == 2
    assert "broken.pth: truncated or corrupt checkpoint" in out.stderr
    assert "Iter(train)" not in out.stdout + out.stderr


# The second save fails as on a full disk, half-way through writing the file.
DISK_FULL_IN_SECOND_SAVE = KILLED_IN_SECOND_SAVE.replace(
    "os.kill(os.getpid(), signal.SIGKILL)",
    "raise OSError(28, 'No space left on device')",
)


def test_full_disk_ends_with_one_line_naming_the_file_and_leaves_no_partial_file(tmp_path):
    killed = run([sys.executable, "-c", DISK_FULL_IN_SECOND_SAVE, "train", CONFIG,
                  "--work-dir", "work", *FAST], tmp_path)  # fmt: skip
    assert killed.returncode == 1
    work = tmp_path / "work"
    assert killed.stderr.strip().splitlines()[-1] == (
        f"mmseg-beit train: iteration 4: could not write {work / 'iter_4.pth'}: "
        "No space left on device (free space, or lower max_keep_ckpts)"
    )
    assert "Traceback" not in killed.stderr
    assert not list(work.glob(".*.tmp"))
    assert sorted(p.name for p in work.glob("*.pth")) == ["iter_2.pth"]
    assert (work / "last_checkpoint").read_text().endswith("iter_2.pth")


def test_only_checkpoint_corrupt_with_last_checkpoint_trains_from_the_start(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "iter_2.pth").write_bytes(b"PK\x03\x04 half a zip")
    (work / "last_checkpoint").write_text(str(work / "iter_2.pth"))
    options = ["train_cfg.max_iters=2", "default_hooks.logger.interval=1"]
    out = run(cli("train", CONFIG, "--work-dir", "work", "--resume", *FAST[:1], *options), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "resume: NOTHING TO RESUME in" in out.stdout + out.stderr
    assert "Iter(train) [1/2]" in out.stdout + out.stderr  # from the start, as announced
    assert torch.load(work / "iter_2.pth", weights_only=True)["meta"]["iter"] == 2


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_code_running_load_from_is_refused_in_one_line_naming_the_file(tmp_path):
    torch.save({"state_dict": {"w": torch.ones(1)}, "x": _RunsCode()}, tmp_path / "evil.pth")
    out = run(cli("train", CONFIG, "--work-dir", "work", *FAST, "load_from=evil.pth"), tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "mmseg-beit train: evil.pth: refused: the pickle references posix.system, which could "
        "run code when loaded. Only tensors, containers and mmengine checkpoint types are accepted."
    )
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "pwned.txt").exists()


def test_code_running_checkpoint_is_refused_by_mmengines_runner_naming_the_file(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmseg_beit.checkpoint import CheckpointError

    torch.save({"state_dict": {"w": torch.ones(1)}, "x": _RunsCode()}, tmp_path / "evil.pth")
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    with pytest.raises(CheckpointError, match=r"evil\.pth: refused: .*posix\.system"):
        runner.load_checkpoint(str(tmp_path / "evil.pth"))
    assert not (tmp_path / "pwned.txt").exists()
