"""2 CPU processes through tools/dist_train.sh and tools/dist_test.sh: SyncBN keeps one set of
BatchNorm statistics, so the mIoU logged while training is the saved checkpoint's."""

from __future__ import annotations

import cv2
import numpy as np
from conftest import REPO
from userland import cli, logged_miou, run, script

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")


def test_validation_mious_of_two_process_training_equal_the_checkpoints(tmp_path):
    options = ["--cfg-options", "train_cfg.max_iters=8", "default_hooks.logger.interval=1"]
    train = run(script("dist_train.sh", CONFIG, "2", "--work-dir", "work", *options), tmp_path)
    assert train.returncode == 0, train.stderr[-4000:]
    output = train.stdout + train.stderr
    assert "processes: 2 (launcher: pytorch)" in output and "Iter(val) [8/8]" in output  # 16 / 2
    logged = logged_miou(output, "val")
    assert logged > 0
    checkpoint = str(tmp_path / "work" / "iter_8.pth")

    labels = tmp_path / "labels"
    test = run(script("dist_test.sh", CONFIG, checkpoint, "2", "--out", str(labels)), tmp_path)
    assert test.returncode == 0, test.stderr[-4000:]
    assert logged_miou(test.stdout + test.stderr, "test") == logged
    single = run(cli("test", CONFIG, checkpoint), tmp_path)
    assert single.returncode == 0, single.stderr[-4000:]
    assert logged_miou(single.stdout + single.stderr, "test") == logged

    written = sorted(labels.glob("*.png"))
    assert len(written) == 16  # both ranks wrote theirs
    assert set(np.unique(cv2.imread(str(written[0]), cv2.IMREAD_UNCHANGED))) <= set(range(1, 6))
