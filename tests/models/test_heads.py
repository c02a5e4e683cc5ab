"""Neck and heads: same keys and outputs as MMSegmentation's, on shared random weights."""

from __future__ import annotations

import pytest
import torch
from conftest import randomize_, uper_head
from mmseg.registry import MODELS as MMSEG_MODELS

from mmseg_beit.registry import MODELS

BN = dict(type="BN", requires_grad=True)


def _both(cfg: dict):
    reference = randomize_(MMSEG_MODELS.build(dict(cfg, type=f"mmseg.{cfg['type']}")))
    ours = MODELS.build(dict(cfg, type=f"mmseg_beit.{cfg['type']}"))
    assert type(ours).__module__.startswith("mmseg_beit")
    ours.load_state_dict(reference.state_dict(), strict=True)
    reference.eval()
    ours.eval()
    return reference, ours


def _pyramid(width: int, size: int = 8, batch: int = 2):
    return [torch.randn(batch, width, size * 2 // 2**i, size * 2 // 2**i) for i in range(4)]


@pytest.mark.parametrize("rescales", [[4, 2, 1, 0.5], [2, 1, 0.5, 0.25]])
def test_feature2pyramid_equals_mmseg(rescales):
    reference, ours = _both(
        dict(type="Feature2Pyramid", embed_dim=16, rescales=rescales, norm_cfg=BN)
    )
    inputs = [torch.randn(2, 16, 6, 5) for _ in rescales]
    with torch.no_grad():
        for a, b in zip(ours(inputs), reference(inputs)):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="3 inputs for 4 rescales"):
        ours(inputs[:3])


def test_feature2pyramid_rejects_unknown_rescales():
    with pytest.raises(ValueError, match="rescales"):
        MODELS.build(dict(type="Feature2Pyramid", embed_dim=8, rescales=[3, 1]))


@pytest.mark.parametrize(
    "extra, sizes",
    [
        (dict(pool_scales=(1, 2, 3, 6)), (16, 8, 4, 2)),
        (dict(pool_scales=(1, 2), align_corners=True), (15, 8, 4, 2)),
    ],
)
def test_uper_head_equals_mmseg(extra, sizes):
    cfg = dict(
        type="UPerHead",
        in_channels=[16] * 4,
        in_index=[0, 1, 2, 3],
        channels=12,
        num_classes=5,
        norm_cfg=BN,
        dropout_ratio=0.1,
        **extra,
    )
    reference, ours = _both(cfg)
    inputs = [torch.randn(2, 16, s, s + 1) for s in sizes]
    with torch.no_grad():
        torch.testing.assert_close(ours(inputs), reference(inputs), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "extra",
    [dict(num_convs=1, concat_input=False), dict(num_convs=2, concat_input=True, dilation=2)],
)
def test_fcn_head_equals_mmseg(extra):
    cfg = dict(
        type="FCNHead", in_channels=16, in_index=2, channels=8, num_classes=5, norm_cfg=BN, **extra
    )
    reference, ours = _both(cfg)
    inputs = _pyramid(16)
    with torch.no_grad():
        torch.testing.assert_close(ours(inputs), reference(inputs), atol=1e-5, rtol=0)


@pytest.mark.parametrize("concat_input", [False, True])
def test_fcn_head_has_mmseg_attributes(concat_input):
    cfg = dict(
        type="FCNHead",
        in_channels=16,
        channels=8,
        num_classes=5,
        num_convs=1,
        kernel_size=1,
        concat_input=concat_input,
        norm_cfg=BN,
    )
    reference, ours = _both(cfg)
    for name in ("num_convs", "concat_input", "kernel_size"):
        assert getattr(ours, name) == getattr(reference, name), name
    assert hasattr(ours, "conv_cat") == hasattr(reference, "conv_cat") == concat_input
    assert list(ours.state_dict()) == list(reference.state_dict())


def test_head_checkpointing_keeps_gradients_and_batchnorm_statistics():
    plain = uper_head(dropout_ratio=0.3).train()
    checkpointed = uper_head(dropout_ratio=0.3, with_cp=True).train()
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


def test_feature2pyramid_keeps_one_cell_for_a_single_token_map():
    neck = MODELS.build(dict(type="mmseg_beit.Feature2Pyramid", embed_dim=8, norm_cfg=BN)).eval()
    x = torch.randn(1, 8, 1, 1)  # an image of 16 px or less
    with torch.no_grad():
        out = neck([x, x, x, x])
    assert [tuple(o.shape[-2:]) for o in out] == [(4, 4), (2, 2), (1, 1), (1, 1)]
    torch.testing.assert_close(out[3], x)  # max over the one cell there is


@pytest.mark.parametrize("size, cells", [((13, 17), 6), ((6, 6), 6), ((2, 9), 3), ((40, 40), 1)])
def test_pooling_by_sums_equals_adaptive_average_pooling(size, cells):
    from mmseg_beit.models.layers.adaptive_pool import adaptive_avg_pool2d_by_sums

    x = torch.randn(2, 3, *size)
    expected = torch.nn.functional.adaptive_avg_pool2d(x, cells)
    torch.testing.assert_close(
        adaptive_avg_pool2d_by_sums(x, cells), expected, atol=1e-5, rtol=1e-5
    )
