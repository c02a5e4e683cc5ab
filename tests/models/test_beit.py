"""BEiT backbone: parity with MMSegmentation, any input size, SDPA, dropout, checkpointing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import randomize_, tiny_backbone_cfg
from mmseg.registry import MODELS as MMSEG_MODELS

from mmseg_beit.models import BEiT
from mmseg_beit.models.layers.attention import RelativePositionAttention, sdpa_mask
from mmseg_beit.models.utils.relative_position import resize_relative_table


def _pair(**overrides):
    cfg = tiny_backbone_cfg(**overrides)
    reference = randomize_(MMSEG_MODELS.build(dict(type="mmseg.BEiT", **cfg)))
    assert type(reference).__module__ == "mmseg.models.backbones.beit"
    reference.eval()  # mmseg's BEiT.train() returns None, so no chaining
    ours = BEiT(**cfg).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


@pytest.mark.parametrize(
    "overrides, size",
    [
        ({}, (64, 64)),
        ({"img_size": (48, 80), "out_indices": [3, 1]}, (48, 80)),
        ({"qv_bias": False, "init_values": 1e-6, "num_heads": 2}, (64, 64)),
        ({"num_layers": 2, "out_indices": [1], "mlp_ratio": 2}, (64, 64)),
    ],
)
def test_features_equal_mmseg(overrides, size):
    reference, ours = _pair(**overrides)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        expected = reference(x)
        got = ours(x)
    if overrides.get("out_indices") == [3, 1]:
        expected = expected[::-1]  # mmseg returns blocks in depth order, ours in the given order
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape == (2, 32, size[0] // 16, size[1] // 16)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_other_grid_uses_resampled_tables():
    """A 64-trained model on 96x96 equals a 96-built model holding the resampled tables."""
    small = randomize_(BEiT(**tiny_backbone_cfg())).eval()
    large = BEiT(**tiny_backbone_cfg(img_size=96)).eval()
    state = small.state_dict()
    for key, value in list(state.items()):
        if key.endswith("relative_position_bias_table"):
            state[key] = resize_relative_table(value, (4, 4), (6, 6))
    large.load_state_dict(state)
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        for a, b in zip(small(x), large(x)):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_sides_not_multiple_of_patch_are_zero_padded_bottom_right():
    model = randomize_(BEiT(**tiny_backbone_cfg())).eval()
    x = torch.randn(1, 3, 70, 50)
    padded = F.pad(x, (0, 14, 0, 10))  # to 80 x 64
    with torch.no_grad():
        out, ref = model(x), model(padded)
    assert out[0].shape[-2:] == (5, 4)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b)


def _explicit_attention(attn: RelativePositionAttention, x: torch.Tensor, grid) -> torch.Tensor:
    b, n, c = x.shape
    heads = attn.num_heads
    qkv = x @ attn.qkv.weight.t() + torch.cat(
        [attn.q_bias, torch.zeros_like(attn.q_bias), attn.v_bias]
    )
    q, k, v = qkv.reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    scores = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1) + attn.relative_bias(grid)
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
    return attn.proj(out)


def test_sdpa_equals_explicit_softmax_attention():
    attn = randomize_(RelativePositionAttention(32, 4, (4, 4))).eval()
    x = torch.randn(2, 17, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            attn(x, (4, 4)), _explicit_attention(attn, x, (4, 4)), atol=1e-5, rtol=0
        )
        x = torch.randn(2, 31, 32)  # 5 x 6 grid, resampled bias
        torch.testing.assert_close(
            attn(x, (5, 6)), _explicit_attention(attn, x, (5, 6)), atol=1e-5, rtol=0
        )


def test_sdpa_mask_rows_aligned_for_gpu_kernels_keep_their_values():
    bias = torch.randn(4, 17, 17)
    mask = sdpa_mask(bias, torch.bfloat16, align=8)
    assert mask.shape == (1, 4, 17, 17) and mask.dtype == torch.bfloat16
    assert mask.stride()[-1] == 1 and all(s % 8 == 0 for s in mask.stride()[:-1])
    torch.testing.assert_close(mask[0], bias.to(torch.bfloat16), atol=0, rtol=0)
    q, k, v = torch.randn(3, 2, 4, 17, 8).unbind(0)
    torch.testing.assert_close(
        F.scaled_dot_product_attention(q, k, v, attn_mask=sdpa_mask(bias, q.dtype, align=8)),
        F.scaled_dot_product_attention(q, k, v, attn_mask=bias),
    )
    assert sdpa_mask(bias, torch.float32).is_contiguous()  # CPU layout


def test_training_mask_carries_gradients_to_the_table():
    attn = randomize_(RelativePositionAttention(32, 4, (4, 4)))
    mask = attn.attention_mask((4, 4), torch.randn(1, 4, 17, 8))
    # Contiguous: PyTorch's CPU flash kernel runs about 2x slower with a strided mask.
    assert mask.is_contiguous() and mask.requires_grad
    mask.sum().backward()
    assert attn.relative_position_bias_table.grad.abs().sum() > 0


def test_attention_dropout_and_drop_path_are_honoured():
    torch.manual_seed(0)
    model = randomize_(BEiT(**tiny_backbone_cfg(attn_drop_rate=0.5)))
    x = torch.randn(1, 3, 64, 64)
    model.train()
    a, b = model(x)[-1], model(x)[-1]
    assert not torch.allclose(a, b)
    model.eval()
    torch.testing.assert_close(model(x)[-1], model(x)[-1])
    no_drop = BEiT(**tiny_backbone_cfg()).eval()
    no_drop.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(x)[-1], no_drop(x)[-1])

    deep = randomize_(BEiT(**tiny_backbone_cfg(drop_path_rate=0.9))).train()
    rates = [getattr(layer.drop_path, "drop_prob", 0.0) for layer in deep.layers]
    assert rates == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert not torch.allclose(deep(x)[-1], deep(x)[-1])


def test_activation_checkpointing_gives_identical_gradients():
    plain = randomize_(BEiT(**tiny_backbone_cfg())).train()
    checkpointed = BEiT(**tiny_backbone_cfg(with_cp=True)).train()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    for model in (plain, checkpointed):
        sum(f.square().mean() for f in model(x)).backward()
    for (name, p), q in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("bad", [4, -5, [0, 7], [1, 1]])
def test_out_indices_are_validated(bad):
    with pytest.raises(ValueError, match="out_indices"):
        BEiT(**tiny_backbone_cfg(out_indices=bad))


def test_conflicting_bias_arguments_are_an_error():
    with pytest.raises(ValueError, match="qv_bias"):
        BEiT(**tiny_backbone_cfg(qv_bias=True, qkv_bias=True))


def test_negative_out_indices_count_from_the_end():
    model = BEiT(**tiny_backbone_cfg(out_indices=[-1, 1]))
    assert model.out_indices == (3, 1)


def test_norm_eval_keeps_norms_in_eval_mode():
    model = BEiT(**tiny_backbone_cfg(norm_eval=True)).train()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and not any(m.training for m in norms)
    assert model.layers[0].attn.training


def test_from_scratch_init_fills_relative_tables():
    cfg = tiny_backbone_cfg(num_layers=2, num_heads=8, embed_dims=64, img_size=224, out_indices=[1])
    model = BEiT(**cfg)
    model.init_weights()
    for layer in model.layers:
        table = layer.attn.relative_position_bias_table
        assert (table != 0).float().mean() > 0.99  # mmseg leaves these at exactly zero
        assert table.std().item() == pytest.approx(0.02, rel=0.1)
        assert table.mean().abs().item() < 0.005
        torch.testing.assert_close(layer.gamma_1, torch.full((64,), 0.1))
        torch.testing.assert_close(layer.ln1.weight, torch.ones(64))
    assert model.cls_token.std().item() == pytest.approx(0.02, rel=0.5)


def test_vit_mode_has_absolute_embeddings_and_no_layer_scale():
    vit = dict(rel_pos_bias=False, abs_pos_embed=True, init_values=None, qkv_bias=True)
    model = BEiT(**tiny_backbone_cfg(qv_bias=False, **vit))
    keys = set(model.state_dict())
    assert "pos_embed" in keys and "layers.0.attn.qkv.bias" in keys
    assert not any("gamma" in k or "relative" in k or "q_bias" in k for k in keys)
    model.init_weights()
    model.eval()
    assert model(torch.randn(1, 3, 80, 48))[0].shape == (1, 32, 5, 3)


def test_deprecated_pretrained_argument_becomes_a_pretrained_init(tmp_path):
    source = randomize_(BEiT(**tiny_backbone_cfg()))
    torch.save({"state_dict": source.state_dict()}, tmp_path / "w.pth")
    model = BEiT(**tiny_backbone_cfg(pretrained=str(tmp_path / "w.pth")))
    assert model.init_cfg == dict(type="Pretrained", checkpoint=str(tmp_path / "w.pth"))
    model.init_weights()
    torch.testing.assert_close(model.cls_token, source.cls_token)
    with pytest.raises(ValueError, match="not both"):
        BEiT(**tiny_backbone_cfg(pretrained="a.pth", init_cfg=dict(type="Pretrained")))


@pytest.mark.parametrize("bad", [123, ["a.pth"], dict(checkpoint="a.pth")])
def test_pretrained_that_is_not_a_path_is_refused_at_construction(bad):
    with pytest.raises(TypeError, match=r"pretrained must be a checkpoint path \(str\) or None"):
        BEiT(**tiny_backbone_cfg(pretrained=bad))
