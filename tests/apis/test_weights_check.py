"""The weight files a config reads, found wherever the model config keeps them."""

from __future__ import annotations

from mmseg_beit.apis.config import load_config
from mmseg_beit.apis.weights_check import needed_weights, train_from_scratch

BASE = "pretrain/beit_base_patch16_224_pt22k_ft22k.pth"


def test_weights_of_a_multi_scale_config_are_found_inside_its_tta_model():
    cfg = load_config("upernet_beit-base_640x640_160k_ade20k_ms", {"load_from": "run/iter_8.pth"})
    assert needed_weights(cfg) == [
        ("model.module.backbone.init_cfg.checkpoint", BASE),
        ("load_from", "run/iter_8.pth"),
    ]


def test_from_scratch_leaves_no_pretrained_backbone_in_any_spelling():
    cfg = load_config("upernet_beit-base_8x2_640x640_160k_ade20k")
    cfg.model.pretrained = "pretrain/old_style.pth"  # mmseg's deprecated spelling
    assert {key for key, _ in needed_weights(cfg)} == {
        "model.backbone.init_cfg.checkpoint",
        "model.pretrained",
    }
    said = train_from_scratch(cfg)
    assert needed_weights(cfg) == [] and cfg.model.backbone.init_cfg is None
    assert f"(instead of {BASE})" in said
