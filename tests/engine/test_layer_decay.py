"""LayerDecayOptimizerConstructor: lr scale and weight decay of each parameter, numerically."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_backbone_cfg
from torch import nn

from mmseg_beit.engine.optimizers.layer_decay import LayerDecayOptimizerConstructor
from mmseg_beit.registry import MODELS

LR, WD, RATE = 1e-3, 0.05, 0.5


class _Segmentor(nn.Module):
    def __init__(self, **backbone):
        super().__init__()
        self.backbone = MODELS.build(dict(type="BEiT", **tiny_backbone_cfg(**backbone)))
        self.decode_head = nn.Sequential(nn.Conv2d(32, 8, 3), nn.BatchNorm2d(8))


def _groups(model, **paramwise):
    constructor = LayerDecayOptimizerConstructor(
        dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=LR, weight_decay=WD)),
        dict(layer_decay_rate=RATE, **paramwise),
    )
    optimizer = constructor(model).optimizer
    by_name = {}
    for group in optimizer.param_groups:
        for name in group["param_names"]:
            by_name[name] = (group["lr"], group["weight_decay"])
    return by_name


def test_lr_scale_and_weight_decay_of_every_kind_of_parameter():
    groups = _groups(_Segmentor())  # 4 blocks: num_layers taken from the backbone
    expected = {
        "backbone.cls_token": (LR * RATE**5, 0.0),
        "backbone.patch_embed.projection.weight": (LR * RATE**5, WD),
        "backbone.patch_embed.projection.bias": (LR * RATE**5, 0.0),
        "backbone.layers.0.attn.qkv.weight": (LR * RATE**4, WD),
        "backbone.layers.0.attn.q_bias": (LR * RATE**4, 0.0),
        "backbone.layers.0.attn.relative_position_bias_table": (LR * RATE**4, 0.0),
        "backbone.layers.2.gamma_1": (LR * RATE**2, 0.0),
        "backbone.layers.3.ln2.weight": (LR * RATE, 0.0),
        "backbone.layers.3.ffn.layers.1.weight": (LR * RATE, WD),
        "decode_head.0.weight": (LR, WD),
        "decode_head.0.bias": (LR, 0.0),
        "decode_head.1.weight": (LR, 0.0),
    }
    for name, (lr, wd) in expected.items():
        assert groups[name] == (pytest.approx(lr), pytest.approx(wd)), name
    assert len(groups) == sum(1 for _ in _Segmentor().parameters())


def test_custom_keys_and_vit_mode():
    vit = dict(
        qv_bias=None, rel_pos_bias=False, abs_pos_embed=True, init_values=None, qkv_bias="qkv"
    )
    custom = {"decode_head": dict(lr_mult=10.0), "layers.1.attn": dict(decay_mult=0.5)}
    groups = _groups(_Segmentor(**vit), num_layers=4, custom_keys=custom)
    assert groups["backbone.pos_embed"] == (pytest.approx(LR * RATE**5), 0.0)
    assert groups["backbone.layers.0.attn.qkv.bias"] == (pytest.approx(LR * RATE**4), 0.0)
    assert groups["decode_head.0.weight"] == (pytest.approx(10 * LR), pytest.approx(WD))
    assert groups["backbone.layers.1.attn.qkv.weight"] == (
        pytest.approx(LR * RATE**3),
        pytest.approx(WD / 2),
    )
    assert groups["backbone.layers.1.ffn.layers.1.weight"][1] == pytest.approx(WD)


def test_frozen_parameters_are_left_out():
    model = _Segmentor()
    model.backbone.layers[0].requires_grad_(False)
    groups = _groups(model)
    assert "backbone.layers.0.attn.qkv.weight" not in groups
    assert "backbone.layers.1.attn.qkv.weight" in groups


def test_group_learning_rates_keep_their_ratio_under_the_scheduler():
    from mmengine.optim import PolyLR

    constructor = LayerDecayOptimizerConstructor(
        dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=LR, weight_decay=WD)),
        dict(layer_decay_rate=RATE),
    )
    optimizer = constructor(_Segmentor()).optimizer
    scheduler = PolyLR(optimizer, power=1.0, eta_min=0.0, end=10, by_epoch=False)
    for _ in range(5):
        scheduler.step()
    lrs = {g["layer_id"]: g["lr"] for g in optimizer.param_groups}
    assert 0 < lrs[5] < LR * 0.6
    assert lrs[0] == pytest.approx(lrs[5] * RATE**5)
    assert lrs[3] == pytest.approx(lrs[5] * RATE**2)
    assert isinstance(optimizer, torch.optim.AdamW)
