"""Labels at the original size in strips of rows: the same labels as resizing all classes at
once, in memory that does not grow with classes x pixels."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmengine.config import Config

from mmseg_beit.apis import load_segmentor, segment, strips

CONFIG = REPO / "configs/beit/upernet_beit-tiny_toy.py"


def _resizing_config(classes: int) -> Config:
    """The toy config with a test-time resize (as the ADE20K configs have) and ``classes``."""
    cfg = Config.fromfile(str(CONFIG))
    cfg.test_dataloader.dataset.pipeline.insert(
        1, dict(type="Resize", scale=(160, 120), keep_ratio=True)
    )
    cfg.tta_pipeline[2].transforms[0] = [
        dict(type="mmseg_beit.ResizeWithMinSize", scale=(160, 120), ratio=r) for r in (0.75, 1.0)
    ]
    cfg.model.decode_head.num_classes = classes
    cfg.model.auxiliary_head.num_classes = classes
    return cfg


@pytest.mark.parametrize("align_corners", [False, True])
def test_resized_rows_equal_those_of_a_whole_resize_bit_for_bit(align_corners):
    logits = torch.randn(7, 37, 53, generator=torch.Generator().manual_seed(0))
    whole = F.interpolate(logits[None], (613, 907), mode="bilinear", align_corners=align_corners)
    rows = strips.resize_rows(logits, (613, 907), 200, 260, align_corners)
    assert torch.equal(rows, whole[0, :, 200:260])


@pytest.mark.parametrize("tta", [False, True])
def test_strip_labels_equal_the_full_size_labels(monkeypatch, tta):
    torch.manual_seed(0)
    model = load_segmentor(_resizing_config(50), tta=tta)
    head = (model.module if tta else model).decode_head.conv_seg
    with torch.no_grad():
        head.weight.mul_(100)  # confident logits, as a trained model's (no near-ties)
    rng = np.random.default_rng(0)
    image = np.repeat(np.repeat(rng.integers(0, 255, (60, 80, 3), np.uint8), 4, 0), 4, 1)
    full = segment(model, image, with_probs=True)[0]  # all classes at full size at once
    monkeypatch.setattr(strips, "FULL_SIZE_BYTES", 0)
    monkeypatch.setattr(strips, "STRIP_BYTES", 50 * 320 * 4 * 37)  # strips of 37 rows
    stripped = segment(model, image)[0].labels
    assert len(np.unique(full.labels)) > 5
    np.testing.assert_array_equal(stripped, full.labels)


MEMORY_SCRIPT = """
import resource
import numpy as np
from mmseg_beit.apis import load_segmentor, segment

model = load_segmentor("resizing_150.py")
segment(model, np.zeros((300, 400, 3), np.uint8))  # warm: everything but the large image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
labels = segment(model, np.zeros((1000, 1500, 3), np.uint8))[0].labels
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(labels.shape, (after - before) // 1024)
"""


def test_a_large_image_with_150_classes_stays_in_bounded_memory(tmp_path):
    """1000 x 1500 px x 150 classes is 900 MB of float32 scores per copy; resizing all
    classes at once held several copies."""
    _resizing_config(150).dump(tmp_path / "resizing_150.py")
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MEMORY_SCRIPT)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    shape, grown_mb = out.stdout.split("\n")[-2].rsplit(" ", 1)
    assert shape == "(1000, 1500)"
    assert int(grown_mb) < 300  # labels (int64) 12 MB, strips of 16 MB, temporaries
