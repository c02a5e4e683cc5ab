"""Options of this package's EncoderDecoder: speed preset, inference precision, crop batches."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import randomize_
from mmengine.config import ConfigDict
from test_segmentor import segmentor_cfg

from mmseg_beit.models import WinogradConv2d
from mmseg_beit.models.speed import PRESETS, speed_preset
from mmseg_beit.registry import MODELS


def _ours(speed: str = "off", **test_cfg):
    cfg = segmentor_cfg("mmseg_beit", "slide")
    cfg["type"] = "mmseg_beit.EncoderDecoder"
    cfg["speed"] = speed
    cfg["decode_head"]["in_channels"] = [128] * 4
    cfg["decode_head"]["channels"] = 128
    cfg["neck"]["embed_dim"] = 128
    cfg["backbone"].update(embed_dims=128)
    cfg["auxiliary_head"]["in_channels"] = 128
    cfg["test_cfg"].update(test_cfg)
    return MODELS.build(ConfigDict(cfg))


def test_cpu_fp32_preset_fills_the_options_a_config_leaves_unset():
    model = _ours("cpu")
    preset = PRESETS[("cpu", "fp32")]
    assert isinstance(model.decode_head.fpn_bottleneck.conv, WinogradConv2d) == preset.winograd
    cache = model.backbone.bias_cache
    assert (cache.max_keys if cache is not None else 0) == preset.cache_grids
    assert model.test_cfg.crop_batch == preset.crop_batch


def test_options_set_in_the_config_win_over_the_preset():
    cfg = segmentor_cfg("mmseg_beit", "slide")
    cfg["type"] = "mmseg_beit.EncoderDecoder"
    cfg["speed"] = "cpu"
    cfg["backbone"]["cache_grids"] = 2
    cfg["decode_head"]["conv_cfg"] = dict(type="Conv2d")
    cfg["test_cfg"]["crop_batch"] = 3
    model = MODELS.build(ConfigDict(cfg))
    assert model.backbone.bias_cache.max_keys == 2
    assert type(model.decode_head.fpn_bottleneck.conv) is torch.nn.Conv2d
    assert model.test_cfg.crop_batch == 3


def test_speed_off_builds_the_plain_model():
    model = _ours("off")
    assert model.backbone.bias_cache is None
    assert type(model.decode_head.fpn_bottleneck.conv) is torch.nn.Conv2d


def test_auto_picks_the_cuda_preset_only_where_cuda_is():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    assert speed_preset("auto", "bf16") is PRESETS[(device, "bf16")]
    with pytest.raises(ValueError, match="speed must be one of"):
        speed_preset("fast")


def test_bf16_inference_precision_gives_fp32_logits_close_to_fp32():
    plain = randomize_(_ours("off")).eval()
    half = _ours("off", precision="bf16").eval()
    half.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 80, 96)
    metas = [dict(img_shape=(80, 96), ori_shape=(80, 96), pad_shape=(80, 96))]
    with torch.no_grad():
        expected, got = plain.inference(x, metas), half.inference(x, metas)
    assert got.dtype == torch.float32
    assert 0 < (got - expected).abs().max() < 0.05 * expected.abs().max()


def test_unknown_precision_is_an_error():
    with pytest.raises(ValueError, match="precision must be one of"):
        _ours("off", precision="int8")


def test_batched_sliding_window_equals_one_crop_at_a_time():
    from test_segmentor import segmentor_cfg

    cfg = segmentor_cfg("mmseg_beit", "slide")
    cfg["type"] = "EncoderDecoder"  # ours, in scope mmseg_beit
    one = MODELS.build(ConfigDict(cfg))
    randomize_(one).eval()
    assert type(one).__module__ == "mmseg_beit.models.segmentors.encoder_decoder"
    batched_cfg = copy.deepcopy(cfg)
    batched_cfg["test_cfg"]["crop_batch"] = 4
    batched = MODELS.build(ConfigDict(batched_cfg)).eval()
    batched.load_state_dict(one.state_dict())
    reference = MODELS.build(ConfigDict(dict(cfg, type="mmseg.EncoderDecoder"))).eval()
    reference.load_state_dict(one.state_dict())
    x = torch.randn(2, 3, 150, 101)
    metas = [dict(img_shape=(150, 101), ori_shape=(150, 101), pad_shape=(150, 101))] * 2
    with torch.no_grad():
        expected = reference.inference(x, metas)
        torch.testing.assert_close(one.inference(x, metas), expected, atol=1e-6, rtol=0)
        torch.testing.assert_close(batched.inference(x, metas), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("precision, kernel", [("fp32", "sdpa"), ("bf16", "matmul")])
def test_cpu_preset_picks_the_attention_kernel_of_its_precision(precision, kernel):
    cfg = segmentor_cfg("mmseg_beit", "slide")
    cfg.update(type="mmseg_beit.EncoderDecoder", speed="cpu")
    cfg["test_cfg"]["precision"] = precision
    model = MODELS.build(ConfigDict(cfg))
    assert {layer.attn.kernel for layer in model.backbone.layers} == {kernel}


@pytest.mark.parametrize("precision, kept", [("fp32", True), ("bf16", False)])
def test_cpu_preset_keeps_winograd_kernels_in_fp32_only(precision, kept):
    cfg = segmentor_cfg("mmseg_beit", "slide")
    cfg.update(type="mmseg_beit.EncoderDecoder", speed="cpu")
    cfg["test_cfg"]["precision"] = precision
    conv = MODELS.build(ConfigDict(cfg)).decode_head.fpn_bottleneck.conv
    assert (conv.kernel_cache is not None) == kept
