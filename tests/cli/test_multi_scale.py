"""Each *_ms config runs 6 scales x 2 flips through a plain Runner and tools/infer.py with and
without --tta (tools/dist_test.sh with 2 processes: test_every_config; MMSegInferencer and
mmseg's tools: test_mmseg_entry_points)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.runner import Runner
from userland import run

from mmseg_beit.datasets.toy_ade20k import make_scene
from mmseg_beit.registry import MODELS

# Shrunk to the same width and depth, the _ms configs build the same inference: the base one runs
# in CI, the others with -m slow (all of them train and test in test_every_config).
MS_CONFIGS = [
    pytest.param(path, marks=() if "beit-base" in path.stem else pytest.mark.slow)
    for path in sorted((REPO / "configs").rglob("*_ms.py"))
]
TINY_MS = """
_base_ = ["{base}"]
width = 32
model = dict(
    module=dict(
        backbone=dict(embed_dims=width, num_layers=4, num_heads=2, out_indices=(0, 1, 2, 3)),
        neck=dict(embed_dim=width),
        decode_head=dict(in_channels=[width] * 4, channels=16),
        auxiliary_head=dict(in_channels=width, channels=8),
    )
)
test_dataloader = dict(dataset=dict(data_root="{root}"))
"""


def _odd_sized_dataset(root: Path, sizes) -> None:
    """Images of sides that are not multiples of 16."""
    rng = np.random.default_rng(0)
    for split in ("images", "annotations"):
        (root / split / "validation").mkdir(parents=True)
    for i, (h, w) in enumerate(sizes):
        image, label = make_scene(rng, h, w)
        cv2.imwrite(str(root / "images" / "validation" / f"img_{i}.jpg"), image)
        cv2.imwrite(str(root / "annotations" / "validation" / f"img_{i}.png"), label)


@pytest.fixture(scope="module", params=MS_CONFIGS, ids=lambda p: p.stem)
def tiny_ms(request, tmp_path_factory):
    """(tiny _ms config file, a checkpoint for it, image sizes)."""
    folder = tmp_path_factory.mktemp("ms")
    sizes = [(37, 53)]
    _odd_sized_dataset(folder / "data", sizes)
    config = folder / "tiny_ms.py"
    config.write_text(TINY_MS.format(base=request.param, root=folder / "data"))
    cfg = Config.fromfile(str(config))
    cfg.model.module.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = folder / "tiny.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, checkpoint)
    return config, checkpoint, sizes


def test_plain_runner_tests_every_view_of_odd_sizes(tiny_ms, tmp_path):
    config, checkpoint, sizes = tiny_ms
    cfg = Config.fromfile(str(config))
    cfg.work_dir, cfg.load_from = str(tmp_path / "work"), str(checkpoint)
    runner = Runner.from_cfg(cfg)
    views = []
    segmentor = runner.model.module
    original = segmentor.inference
    segmentor.inference = lambda x, metas: views.append(x.shape[-2:]) or original(x, metas)
    metrics = runner.test()
    assert 0 <= metrics["mIoU"] <= 100
    assert len(views) == 12 * len(sizes)  # 6 ratios x 2 flips per image, all fused
    for i, (h, w) in enumerate(sizes):
        shapes = views[12 * i : 12 * (i + 1)]
        assert min(min(s) for s in shapes) >= 640  # no view smaller than the crop
        factor = min(2560 / max(h, w), 640 / min(h, w))
        expected = {max(640 / min(h, w), factor * r) for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)}
        assert len({tuple(s) for s in shapes}) == len(expected)


@pytest.mark.parametrize("tta", [False, True])
def test_infer_tool_runs_the_ms_config_with_and_without_tta(tiny_ms, tmp_path, tta):
    config, checkpoint, sizes = tiny_ms
    images = Path(Config.fromfile(str(config)).test_dataloader.dataset.data_root) / "images"
    image = images / "validation" / "img_0.jpg"
    command = ["python", str(REPO / "tools/infer.py"), str(image)]
    command += ["--config", str(config), "--checkpoint", str(checkpoint), "--out-dir", "out"]
    out = run(command + (["--tta"] if tta else []), tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]
    assert "multi-scale + flip: 12 views per image" in out.stdout + out.stderr
    labels = cv2.imread(str(tmp_path / "out" / "img_0.png"), cv2.IMREAD_UNCHANGED)
    assert labels.shape == sizes[0]
