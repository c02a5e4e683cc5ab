"""Faults while checkpointing: a kill during a save, a truncated newest checkpoint, a resume with
nothing to resume. Run as users run training (``mmseg-beit train``), on the toy config."""

from __future__ import annotations

import sys

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
