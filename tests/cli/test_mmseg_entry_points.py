"""MMSegmentation's own entry points build and run this package's models from its configs, in
a fresh interpreter that never imported mmseg_beit itself: MMSegInferencer with its default
arguments, mmseg.apis.init_model / inference_model, mmseg's tools/test.py and tools/train.py,
and a config inheriting mmseg::beit/... pointed at this package."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mmseg
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from userland import run

from mmseg_beit.registry import MODELS

MMSEG_TOOLS = Path(mmseg.__file__).parent / ".mim" / "tools"
KINDS = {
    "toy": "configs/beit/upernet_beit-tiny_toy.py",
    "single-scale": "configs/beit/upernet_beit-base_8x2_640x640_160k_ade20k.py",
    "multi-scale": "configs/beit/upernet_beit-base_640x640_160k_ade20k_ms.py",
}
SHRUNK = """
_base_ = ["{base}"]
_model = dict(
    backbone=dict(embed_dims=32, num_layers=4, num_heads=2, out_indices=(0, 1, 2, 3)),
    neck=dict(embed_dim=32),
    decode_head=dict(in_channels=[32] * 4, channels=16),
    auxiliary_head=dict(in_channels=32, channels=8),
)
model = {model}
"""
INFERENCER = """
import json, sys, numpy as np
from mmseg.apis import MMSegInferencer
inferencer = MMSegInferencer(model=sys.argv[1], weights=sys.argv[2], device="cpu")
model = inferencer.model
segmentor = getattr(model, "module", model)
shape = [int(side) for side in sys.argv[3:5]]
image = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
result = inferencer(image, return_datasamples=True)
print(json.dumps(dict(
    model=f"{type(model).__module__}.{type(model).__name__}",
    segmentor=type(segmentor).__module__, backbone=type(segmentor.backbone).__module__,
    shape=list(result.pred_sem_seg.data.shape))))
"""
APIS = """
import json, sys, numpy as np
from mmseg.apis import inference_model, init_model
model = init_model(sys.argv[1], sys.argv[2], device="cpu")
segmentor = getattr(model, "module", model)
image = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
result = inference_model(model, image)
print(json.dumps(dict(
    model=f"{type(model).__module__}.{type(model).__name__}",
    segmentor=type(segmentor).__module__, shape=list(result.pred_sem_seg.data.shape))))
"""


def _shrunk(kind: str, folder: Path) -> tuple[str, Path, Path]:
    """(kind, shrunk config file inheriting the shipped one, checkpoint with random weights)."""
    model = "dict(module=_model)" if kind == "multi-scale" else "_model"
    config = folder / "shrunk.py"
    config.write_text(SHRUNK.format(base=REPO / KINDS[kind], model=model))
    cfg = Config.fromfile(str(config))
    segmentor_cfg = cfg.model.get("module", cfg.model)
    segmentor_cfg.backbone.init_cfg = None
    segmentor = MODELS.build(segmentor_cfg)
    segmentor.init_weights()
    checkpoint = folder / "weights.pth"
    torch.save({"state_dict": segmentor.state_dict(), "meta": {}}, checkpoint)
    return kind, config, checkpoint


@pytest.fixture(scope="module", params=list(KINDS))
def shrunk(request, tmp_path_factory):
    return _shrunk(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return _shrunk("toy", tmp_path_factory.mktemp("toy"))


def _python(code: str, *args, cwd) -> dict:
    out = run([sys.executable, "-c", code, *map(str, args)], cwd)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stdout + out.stderr


def test_mmseg_inferencer_with_default_arguments_builds_ours(shrunk, tmp_path):
    kind, config, checkpoint = shrunk
    # A panorama that mmseg's own BEiT cannot take (small for 12 views of multi-scale).
    shape = (97, 131) if kind == "multi-scale" else (384, 2048)
    report, output = _python(INFERENCER, config, checkpoint, *shape, cwd=tmp_path)
    expected = "SegTTAModel" if kind == "multi-scale" else "EncoderDecoder"
    assert report["model"] == f"mmseg_beit.models.segmentors.{_module(expected)}.{expected}"
    assert report["segmentor"].startswith("mmseg_beit.") and report["backbone"].startswith(
        "mmseg_beit."
    )
    assert report["shape"] == [1, *shape]
    assert ("12 views per image" in output) == (kind == "multi-scale")


def _module(name: str) -> str:
    return {"SegTTAModel": "seg_tta", "EncoderDecoder": "encoder_decoder"}[name]


def test_mmseg_init_model_and_inference_model_use_ours(toy, tmp_path):
    _, config, checkpoint = toy
    report, _ = _python(APIS, config, checkpoint, cwd=tmp_path)
    assert report["segmentor"].startswith("mmseg_beit.") and report["shape"] == [1, 200, 300]


def test_mmseg_test_tool_tests_our_toy_checkpoint(toy, tmp_path):
    _, config, checkpoint = toy
    command = [sys.executable, str(MMSEG_TOOLS / "test.py"), str(config), str(checkpoint)]
    out = run([*command, "--work-dir", "work"], tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]
    assert "mIoU" in out.stdout + out.stderr


def test_mmseg_train_tool_trains_our_toy_config(toy, tmp_path):
    _, config, _ = toy
    command = [sys.executable, str(MMSEG_TOOLS / "train.py"), str(config), "--work-dir", "work"]
    out = run([*command, "--cfg-options", "train_cfg.max_iters=2"], tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]
    assert (tmp_path / "work" / "iter_2.pth").is_file()


MMSEG_CONFIG = """
_base_ = ["mmseg::beit/beit-base_upernet_8xb2-160k_ade20k-640x640.py"]
custom_imports = dict(imports=["mmseg_beit"], allow_failed_imports=False)
model = dict(_scope_="mmseg_beit")
"""
BUILD = """
import json, sys
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
cfg = Config.fromfile(sys.argv[1])
init_default_scope(cfg.get("default_scope", "mmseg"))
model = MODELS.build(cfg.model)
print(json.dumps(dict(segmentor=type(model).__module__, backbone=type(model.backbone).__module__,
                      init=model.backbone.init_cfg)))
"""


def test_an_mmseg_beit_config_points_at_ours_in_three_lines(tmp_path):
    config = tmp_path / "mine.py"
    config.write_text(MMSEG_CONFIG)
    report, _ = _python(BUILD, config, cwd=tmp_path)
    assert report["segmentor"].startswith("mmseg_beit.")
    assert report["backbone"] == "mmseg_beit.models.backbones.beit"
    # mmseg's configs pass the deprecated model.pretrained, taken as a Pretrained init
    assert report["init"] == {
        "type": "Pretrained",
        "checkpoint": "pretrain/beit_base_patch16_224_pt22k_ft22k.pth",
    }


def test_importing_mmseg_apis_first_works_on_mmcv_lite(tmp_path):
    out = run([sys.executable, "-c", "import mmseg.apis, mmseg_beit; print('ok')"], tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
