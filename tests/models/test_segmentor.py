"""Whole EncoderDecoder built from this package equals MMSegmentation's: logits and losses."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import randomize_, tiny_backbone_cfg
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.structures import SegDataSample

from mmseg_beit.registry import MODELS

BN = dict(type="BN", requires_grad=True)


def segmentor_cfg(scope: str, test_mode: str = "whole", **backbone) -> dict:
    width = 32
    return dict(
        type="mmseg.EncoderDecoder",
        backbone=dict(type=f"{scope}.BEiT", **tiny_backbone_cfg(**backbone)),
        neck=dict(
            type=f"{scope}.Feature2Pyramid", embed_dim=width, rescales=[4, 2, 1, 0.5], norm_cfg=BN
        ),
        decode_head=dict(
            type=f"{scope}.UPerHead",
            in_channels=[width] * 4,
            in_index=[0, 1, 2, 3],
            channels=16,
            num_classes=5,
            norm_cfg=BN,
            dropout_ratio=0.0,
            align_corners=False,
            loss_decode=dict(type="mmseg.CrossEntropyLoss", loss_weight=1.0),
        ),
        auxiliary_head=dict(
            type=f"{scope}.FCNHead",
            in_channels=width,
            in_index=2,
            channels=8,
            num_convs=1,
            concat_input=False,
            num_classes=5,
            norm_cfg=BN,
            dropout_ratio=0.0,
            loss_decode=dict(type="mmseg.CrossEntropyLoss", loss_weight=0.4),
        ),
        train_cfg=dict(),
        test_cfg=dict(mode=test_mode, crop_size=(64, 64), stride=(43, 43)),
    )


def _pair(test_mode: str = "whole", **backbone):
    reference = MMSEG_MODELS.build(ConfigDict(segmentor_cfg("mmseg", test_mode, **backbone)))
    randomize_(reference)
    ours = MODELS.build(ConfigDict(segmentor_cfg("mmseg_beit", test_mode, **backbone)))
    assert type(ours.backbone).__module__.startswith("mmseg_beit")
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


def _samples(batch: int, h: int, w: int, seed: int = 0) -> list[SegDataSample]:
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        labels = torch.randint(0, 5, (1, h, w), generator=generator)
        labels[:, :3] = 255  # some ignored pixels
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
        sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        samples.append(sample)
    return samples


@pytest.mark.parametrize("test_mode, size", [("whole", (64, 64)), ("slide", (100, 90))])
def test_logits_equal_mmseg(test_mode, size):
    reference, ours = _pair(test_mode)
    reference.eval()
    ours.eval()
    x = torch.randn(2, 3, *size)
    metas = [s.metainfo for s in _samples(2, *size)]
    with torch.no_grad():
        expected = reference.inference(x, metas)
        got = ours.inference(x, metas)
    assert got.shape == (2, 5, *size)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_training_losses_and_gradients_equal_mmseg():
    reference, ours = _pair(drop_path_rate=0.0)
    reference.train()
    ours.train()
    x = torch.randn(2, 3, 64, 64)
    samples = _samples(2, 64, 64)
    expected = reference.loss(x, copy.deepcopy(samples))
    got = ours.loss(x, copy.deepcopy(samples))
    assert (
        set(got)
        == set(expected)
        == {"decode.loss_ce", "decode.acc_seg", "aux.loss_ce", "aux.acc_seg"}
    )
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], atol=1e-5, rtol=0, msg=key)
    (got["decode.loss_ce"] + got["aux.loss_ce"]).backward()
    (expected["decode.loss_ce"] + expected["aux.loss_ce"]).backward()
    grads = dict(reference.named_parameters())
    for name, param in ours.named_parameters():
        torch.testing.assert_close(param.grad, grads[name].grad, atol=1e-5, rtol=1e-4, msg=name)


def test_ours_runs_where_mmseg_cannot():
    """Sliding window over an image smaller than the crop: mmseg's BEiT raises, ours works."""
    reference, ours = _pair("slide")
    reference.eval()
    ours.eval()
    x = torch.randn(1, 3, 40, 50)
    metas = [s.metainfo for s in _samples(1, 40, 50)]
    with torch.no_grad(), pytest.raises(RuntimeError):
        reference.inference(x, metas)
    with torch.no_grad():
        assert ours.inference(x, metas).shape == (1, 5, 40, 50)
