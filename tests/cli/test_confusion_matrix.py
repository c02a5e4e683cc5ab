"""The confusion-matrix tool on a test run's label PNGs agrees with the test's own accuracy."""

from __future__ import annotations

import re
import sys

import numpy as np
from conftest import REPO
from userland import cli, run

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")


def test_confusion_matrix_of_test_labels_matches_the_tests_pixel_accuracy(tmp_path):
    trained = run(cli("train", CONFIG, "--work-dir", "w", "--cfg-options", "train_cfg.max_iters=4"),
                  tmp_path)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    tested = run(cli("test", "w/iter_4.pth", "--out", "labels"), tmp_path)
    assert tested.returncode == 0, tested.stderr[-3000:]
    accuracy = float(re.findall(r"aAcc: (\d+\.\d+)", tested.stdout + tested.stderr)[-1])
    tool = [sys.executable, str(REPO / "tools/analysis_tools/confusion_matrix.py")]
    out = run([*tool, CONFIG, "labels", "--out", "m.csv", "--picture", "m.png"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split(",") for line in (tmp_path / "m.csv").read_text().splitlines()]
    matrix = np.array([[int(v) for v in row[1:]] for row in rows[1:]])
    assert rows[0][1:] == ["ground", "disc", "box", "triangle", "stripe"]
    assert abs(100 * np.trace(matrix) / matrix.sum() - accuracy) < 0.01  # aAcc: 2 decimals
    assert (tmp_path / "m.png").is_file()
