"""SegTTAModel: multi-scale + flip merging, single-view pass-through, the segmentor's weights."""

from __future__ import annotations

import torch
from conftest import randomize_
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from test_segmentor import segmentor_cfg

from mmseg_beit.registry import MODELS


def _segmentor_cfg() -> dict:
    cfg = segmentor_cfg("mmseg_beit", "whole")
    cfg["type"] = "mmseg_beit.EncoderDecoder"
    cfg["data_preprocessor"] = dict(type="SegDataPreProcessor", size_divisor=16)
    return cfg


def _tta():
    model = MODELS.build(ConfigDict(dict(type="mmseg_beit.SegTTAModel", module=_segmentor_cfg())))
    return randomize_(model).eval()


def _view(image: torch.Tensor, flip: bool) -> tuple[torch.Tensor, SegDataSample]:
    meta = dict(img_shape=tuple(image.shape[1:]), ori_shape=(48, 64), flip=flip)
    sample = SegDataSample(metainfo=dict(meta, flip_direction="horizontal"))
    sample.gt_sem_seg = PixelData(data=torch.full((1, 48, 64), 3 if flip else 1))
    return image, sample


def test_state_dict_is_the_segmentors_and_both_spellings_load():
    tta = _tta()
    plain = MODELS.build(ConfigDict(_segmentor_cfg()))
    assert tta.state_dict().keys() == plain.state_dict().keys()
    plain.load_state_dict(tta.state_dict())
    fresh = _tta()
    fresh.load_state_dict(plain.state_dict())  # without "module."
    prefixed = {f"module.{k}": v for k, v in plain.state_dict().items()}
    again = _tta()
    again.load_state_dict(prefixed)  # with it
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value)
        torch.testing.assert_close(again.state_dict()[key], value)


def test_single_view_batch_goes_straight_to_the_segmentor():
    tta = _tta()
    image, sample = _view(torch.rand(3, 48, 64) * 255, flip=False)
    batch = dict(inputs=[image], data_samples=[sample])
    with torch.no_grad():
        got = tta.test_step(batch)[0].seg_logits.data
        expected = tta.module.test_step(batch)[0].seg_logits.data
    torch.testing.assert_close(got, expected)


def test_views_are_merged_by_mean_softmax_with_the_unflipped_truth():
    tta = _tta()
    image = torch.rand(3, 48, 64) * 255
    views = [_view(image, flip=False), _view(image.flip(-1), flip=True)]
    batch = dict(inputs=[[v[0]] for v in views], data_samples=[[v[1]] for v in views])
    with torch.no_grad():
        merged = tta.test_step(batch)[0]
        singles = [tta.module.test_step(dict(inputs=[i], data_samples=[s]))[0] for i, s in views]
    probs = torch.stack([s.seg_logits.data.softmax(0) for s in singles]).mean(0)
    torch.testing.assert_close(merged.seg_logits.data.softmax(0), probs, atol=1e-6, rtol=1e-5)
    assert torch.equal(merged.pred_sem_seg.data[0], probs.argmax(0))
    assert merged.gt_sem_seg.data.unique().tolist() == [1]  # the unflipped view's
