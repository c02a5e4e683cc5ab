"""Each speed / memory switch computes the same thing as the plain path."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from conftest import randomize_, tiny_backbone_cfg
from mmengine.config import ConfigDict

from mmseg_beit.models import BEiT, WinogradConv2d
from mmseg_beit.models.layers import winograd
from mmseg_beit.registry import MODELS

BN = dict(type="BN", requires_grad=True)


@pytest.mark.parametrize(
    "channels, size", [((8, 5), (7, 9)), ((130, 140), (16, 15)), ((3, 4), (1, 2))]
)
def test_winograd_equals_direct_convolution(channels, size):
    c_in, c_out = channels
    x = torch.randn(2, c_in, *size)
    weight = torch.randn(c_out, c_in, 3, 3)
    expected = F.conv2d(x, weight, padding=1)
    got = winograd.winograd_conv3x3(x, winograd.winograd_weight(weight))
    torch.testing.assert_close(got, expected, atol=1e-5 * expected.abs().max().item(), rtol=0)


def test_winograd_conv_module_paths(monkeypatch):
    conv = WinogradConv2d(128, 128, 3, padding=1, bias=True)
    plain = torch.nn.Conv2d(128, 128, 3, padding=1, bias=True)
    plain.load_state_dict(conv.state_dict())
    assert conv.state_dict().keys() == plain.state_dict().keys()
    real, calls = winograd.winograd_conv3x3, []

    def spy(*args):
        calls.append(args[0].shape)
        return real(*args)

    monkeypatch.setattr(winograd, "winograd_conv3x3", spy)
    x = torch.randn(1, 128, 12, 10)
    with torch.no_grad():
        torch.testing.assert_close(conv(x), plain(x), atol=1e-4, rtol=1e-5)
        assert len(calls) == 1
        conv.weight.mul_(2)  # the cached transformed kernels follow weight updates
        torch.testing.assert_close(
            conv(x), F.conv2d(x, plain.weight * 2, plain.bias, padding=1), atol=2e-4, rtol=1e-5
        )
    conv(x).sum().backward()  # with autograd: plain conv2d
    assert len(calls) == 2 and conv.weight.grad is not None


def _uper(**extra):
    cfg = dict(
        type="UPerHead",
        in_channels=[128] * 4,
        in_index=[0, 1, 2, 3],
        channels=128,
        num_classes=5,
        norm_cfg=BN,
        **extra,
    )
    return randomize_(MODELS.build(cfg)).eval()


def test_uper_head_with_winograd_convs_equals_plain():
    plain = _uper()
    fast = _uper(conv_cfg=dict(type="WinogradConv2d"))
    assert type(fast.fpn_bottleneck.conv) is WinogradConv2d
    fast.load_state_dict(plain.state_dict())
    inputs = [torch.randn(1, 128, s, s) for s in (24, 12, 6, 3)]
    with torch.no_grad():
        torch.testing.assert_close(fast(inputs), plain(inputs), atol=1e-4, rtol=1e-4)


def test_channels_last_and_autocast_of_neck_and_heads():
    plain = _uper()
    fast = _uper(channels_last=True)
    fast.load_state_dict(plain.state_dict())
    neck = MODELS.build(dict(type="Feature2Pyramid", embed_dim=128, norm_cfg=BN))
    fast_neck = MODELS.build(
        dict(type="Feature2Pyramid", embed_dim=128, norm_cfg=BN, channels_last=True)
    )
    fast_neck.load_state_dict(neck.state_dict())
    neck.eval(), fast_neck.eval()
    feats = [torch.randn(1, 128, 6, 6) for _ in range(4)]
    with torch.no_grad():
        expected = plain(neck(feats))
        torch.testing.assert_close(fast(fast_neck(feats)), expected, atol=1e-4, rtol=1e-4)
        half = _uper(autocast="bf16")
        half.load_state_dict(plain.state_dict())
        half_neck = MODELS.build(
            dict(type="Feature2Pyramid", embed_dim=128, norm_cfg=BN, autocast="bf16")
        )
        half_neck.load_state_dict(neck.state_dict())
        half_neck.eval()
        got = half(half_neck(feats))
    assert got.dtype == torch.float32 and got.is_contiguous()
    assert (got - expected).abs().max() < 0.05 * expected.abs().max()  # bf16 keeps 8 mantissa bits
    with pytest.raises(ValueError, match="autocast"):
        _uper(autocast="int8")


def test_backbone_autocast_sdpa_backends_and_qkv_bias_cache():
    model = randomize_(BEiT(**tiny_backbone_cfg())).eval()
    math_only = BEiT(**tiny_backbone_cfg(sdpa_backends=["math"])).eval()
    math_only.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        expected = model(x)
        for a, b in zip(math_only(x), expected):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
        for a, b in zip(model(x), expected):  # second call: cached bias and qkv bias
            torch.testing.assert_close(a, b, atol=0, rtol=0)
        model.layers[0].attn.q_bias.add_(0.5)  # invalidates the cached qkv bias
        fresh = BEiT(**tiny_backbone_cfg()).eval()
        fresh.load_state_dict(model.state_dict())
        for a, b in zip(model(x), fresh(x)):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
        half = BEiT(**tiny_backbone_cfg(autocast="bf16")).eval()
        half.load_state_dict(model.state_dict())
        got = half(x)
    assert all(f.dtype == torch.float32 for f in got)
    ref = fresh(x)[-1]
    assert (got[-1] - ref).abs().max() < 0.05 * ref.abs().max()
    with pytest.raises(ValueError, match="sdpa_backends"):
        BEiT(**tiny_backbone_cfg(sdpa_backends=["fast"]))
    flash = BEiT(**tiny_backbone_cfg(sdpa_backends=["flash"])).eval()  # CPU's takes a bias
    flash.load_state_dict(model.state_dict())
    with torch.no_grad():
        for a, b in zip(flash(x), fresh(x)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"\['flash'\] takes no attention bias on meta"):
        flash(x.to("meta"))


def test_compiled_blocks_equal_eager():
    model = randomize_(BEiT(**tiny_backbone_cfg(num_layers=2, out_indices=[1]))).eval()
    compiled = BEiT(**tiny_backbone_cfg(num_layers=2, out_indices=[1], compile=True)).eval()
    compiled.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x)[0], model(x)[0], atol=1e-5, rtol=1e-5)


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


def test_head_checkpointing_keeps_gradients_and_batchnorm_statistics():
    plain = _uper(dropout_ratio=0.3).train()
    checkpointed = _uper(dropout_ratio=0.3, with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    inputs = [torch.randn(2, 128, s, s, requires_grad=True) for s in (16, 8, 4, 2)]
    outputs = []
    for head in (plain, checkpointed):
        torch.manual_seed(7)  # same dropout masks
        out = head([x.clone() for x in inputs])
        out.square().mean().backward()
        outputs.append(out.detach())
    torch.testing.assert_close(outputs[1], outputs[0])
    for (name, p), q in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-6, rtol=1e-5, msg=name)
    buffers = dict(checkpointed.named_buffers())
    for name, value in plain.named_buffers():  # running stats updated once, not twice
        torch.testing.assert_close(buffers[name], value, msg=name)
