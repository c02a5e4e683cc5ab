"""beit2mmseg: official (unilm / timm) and mmpretrain layouts -> features equal an independent
implementation (transformers' BEiT, holding the same weights under official names)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
from conftest import REPO, tiny_backbone_cfg

from mmseg_beit.checkpoint import CheckpointError
from mmseg_beit.checkpoint.official import convert_backbone, detect_format
from mmseg_beit.models import BEiT
from mmseg_beit.models.utils.relative_position import (
    legacy_resize_relative_table,
    relative_position_index,
    resize_relative_table,
    table_rows,
)

transformers = pytest.importorskip("transformers")
SCRIPT = REPO / "tools/model_converters/beit2mmseg.py"

# transformers' saved names -> unilm's names; written here from the two public layouts.
_TO_OFFICIAL = (
    (r"^beit\.embeddings\.cls_token$", "cls_token"),
    (r"^beit\.embeddings\.mask_token$", "mask_token"),
    (r"^beit\.embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^beit\.encoder\.relative_position_bias\.", "rel_pos_bias."),
    (
        r"^beit\.encoder\.layer\.(\d+)\.attention\.attention\.relative_position_bias\.",
        r"blocks.\1.attn.",
    ),
    (r"^beit\.encoder\.layer\.(\d+)\.attention\.attention\.query\.bias$", r"blocks.\1.attn.q_bias"),
    (r"^beit\.encoder\.layer\.(\d+)\.attention\.attention\.value\.bias$", r"blocks.\1.attn.v_bias"),
    (r"^beit\.encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"blocks.\1.attn.proj."),
    (r"^beit\.encoder\.layer\.(\d+)\.intermediate\.dense\.", r"blocks.\1.mlp.fc1."),
    (r"^beit\.encoder\.layer\.(\d+)\.output\.dense\.", r"blocks.\1.mlp.fc2."),
    (r"^beit\.encoder\.layer\.(\d+)\.layernorm_before\.", r"blocks.\1.norm1."),
    (r"^beit\.encoder\.layer\.(\d+)\.layernorm_after\.", r"blocks.\1.norm2."),
    (r"^beit\.encoder\.layer\.(\d+)\.lambda_(\d)$", r"blocks.\1.gamma_\2"),
    (r"^layernorm\.", "norm."),
    (r"^beit\.pooler\.layernorm\.", "fc_norm."),
)


def _official_from_hf(hf_state: dict) -> dict:
    out = {}
    for key, value in hf_state.items():
        match = re.match(r"beit\.encoder\.layer\.(\d+)\.attention\.attention\.query\.weight", key)
        if match:
            prefix = key.rsplit("query.weight", 1)[0]
            qkv = [hf_state[prefix + f"{p}.weight"] for p in ("query", "key", "value")]
            out[f"blocks.{match.group(1)}.attn.qkv.weight"] = torch.cat(qkv)
            out[f"blocks.{match.group(1)}.attn.relative_position_index"] = relative_position_index(
                (4, 4)
            )
            continue
        if re.search(r"\.(key|value)\.weight$", key):
            continue
        for pattern, replacement in _TO_OFFICIAL:
            if re.match(pattern, key):
                out[re.sub(pattern, replacement, key)] = value
                break
        else:
            out[key] = value  # lm_head.* and the like stay as in the original
    return out


@pytest.fixture(scope="module", params=["per_layer", "shared"])
def official(request, tmp_path_factory):
    """(transformers model, official checkpoint path) with random weights."""
    shared = request.param == "shared"
    config = transformers.BeitConfig(
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        image_size=64,
        patch_size=16,
        use_mask_token=shared,
        use_shared_relative_position_bias=shared,
        use_relative_position_bias=not shared,
    )
    cls = transformers.BeitForMaskedImageModeling if shared else transformers.BeitModel
    model = cls(config).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.2)
    state = {
        k if k.startswith(("beit.", "lm_head", "layernorm")) else f"beit.{k}": v
        for k, v in model.state_dict().items()
    }
    from mmseg_beit.checkpoint.huggingface import _V5_TO_LEGACY, _rename

    legacy = {_rename(k, _V5_TO_LEGACY): v for k, v in state.items()}
    path = tmp_path_factory.mktemp("official") / "beit_official.pth"
    torch.save({"model": _official_from_hf(legacy)}, path)
    return (model.beit if shared else model), path, shared


def _reference_features(hf, x, blocks):
    hidden = hf(x, output_hidden_states=True).hidden_states
    return [hidden[b + 1][:, 1:].transpose(1, 2).reshape(x.shape[0], 32, 4, 4) for b in blocks]


def test_converted_official_checkpoint_gives_reference_features(official, tmp_path):
    hf, path, shared = official
    dst = tmp_path / "converted.pth"
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(path), str(dst)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "4 layers, width 32, 4 heads, relative tables for a 4x4 grid" in out.stdout
    assert ("expanded from one shared table" in out.stdout) == shared
    state = torch.load(dst, weights_only=True)["state_dict"]
    assert not [
        k
        for k in state
        if "relative_position_index" in k or (".proj." in k and "patch_embed.proj." in k)
    ]
    assert not [
        k
        for k in state
        if k.startswith(("blocks.", "mask_token", "lm_head", "norm.", "rel_pos_bias"))
    ]

    backbone = BEiT(
        **tiny_backbone_cfg(
            mlp_ratio=2,
            out_indices=[0, 1, 3],
            norm_cfg=dict(type="LN", eps=1e-12),
            init_cfg=dict(type="Pretrained", checkpoint=str(dst)),
        )
    )
    backbone.load_state_dict(state, strict=True)  # exactly the backbone's keys, nothing stale
    backbone.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(backbone(x), _reference_features(hf, x, [0, 1, 3])):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=0)


def test_official_checkpoint_initialises_a_larger_model_with_legacy_resize(official):
    _, path, _ = official
    backbone = BEiT(
        **tiny_backbone_cfg(
            img_size=96,
            mlp_ratio=2,
            out_indices=-1,
            init_cfg=dict(type="Pretrained", checkpoint=str(path)),
        )
    )
    backbone.init_weights()  # straight from the official file: converted and resized on load
    source = torch.load(path, weights_only=True)["model"]
    table_key = "blocks.2.attn.relative_position_bias_table"
    table = source.get(table_key, source.get("rel_pos_bias.relative_position_bias_table"))
    expected = legacy_resize_relative_table(table, (6, 6))
    torch.testing.assert_close(
        backbone.layers[2].attn.relative_position_bias_table.detach(), expected
    )
    torch.testing.assert_close(
        backbone.layers[2].attn.qkv.weight.detach(), source["blocks.2.attn.qkv.weight"]
    )


def test_mmpretrain_layout_with_shared_table():
    table = torch.randn(52, 4)
    state = {
        "backbone.cls_token": torch.zeros(1, 1, 32),
        "backbone.patch_embed.projection.weight": torch.zeros(32, 3, 16, 16),
        "backbone.layers.0.ln1.weight": torch.ones(32),
        "backbone.layers.1.ln1.weight": torch.ones(32),
        "backbone.rel_pos_bias.relative_position_bias_table": table,
        "backbone.rel_pos_bias.relative_position_index": relative_position_index((4, 4)),
        "backbone.ln1.weight": torch.ones(32),
        "neck.weight": torch.ones(1),
        "target_generator.x": torch.ones(1),
    }
    assert detect_format(state) == "mmpretrain"
    conversion = convert_backbone(state)
    assert set(conversion.state_dict) == {
        "cls_token",
        "patch_embed.projection.weight",
        "layers.0.ln1.weight",
        "layers.1.ln1.weight",
        "layers.0.attn.relative_position_bias_table",
        "layers.1.attn.relative_position_bias_table",
    }
    torch.testing.assert_close(
        conversion.state_dict["layers.1.attn.relative_position_bias_table"], table
    )
    assert "norm.weight" in convert_backbone(state, keep_final_norm=True).state_dict


def test_unknown_layout_is_refused_and_nothing_is_written(tmp_path):
    src, dst = tmp_path / "resnet.pth", tmp_path / "out.pth"
    torch.save({"state_dict": {"conv1.weight": torch.ones(1)}}, src)
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(src), str(dst)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "unknown checkpoint layout" in out.stderr and "conv1.weight" in out.stderr
    assert not dst.exists() and list(tmp_path.iterdir()) == [src]
    with pytest.raises(CheckpointError, match="unknown checkpoint layout"):
        convert_backbone({"conv1.weight": torch.ones(1)})


def test_patch_size_mismatch_is_a_clear_error(official):
    _, path, _ = official
    backbone = BEiT(
        **tiny_backbone_cfg(
            patch_size=8, out_indices=-1, init_cfg=dict(type="Pretrained", checkpoint=str(path))
        )
    )
    with pytest.raises(
        CheckpointError, match=r"patch size \(16, 16\) does not match the model's \(8, 8\)"
    ):
        backbone.init_weights()


def test_non_square_timm_checkpoint_converts_and_loads_into_another_grid(tmp_path):
    """timm at img_size (64, 96): a 4 x 6 grid, 66 table rows; its index tells the grid."""
    grid = (4, 6)
    table = torch.randn(table_rows(grid), 4)
    state = {
        "cls_token": torch.zeros(1, 1, 32),
        "patch_embed.proj.weight": torch.zeros(32, 3, 16, 16),
    }
    state["blocks.0.attn.relative_position_bias_table"] = table
    state["blocks.0.attn.relative_position_index"] = relative_position_index(grid)
    src, dst = tmp_path / "timm_beit.pth", tmp_path / "beit.pth"
    torch.save(state, src)
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(src), str(dst)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "relative tables for a 4x6 grid" in out.stdout
    backbone = BEiT(**tiny_backbone_cfg(num_layers=1, out_indices=[0], img_size=(96, 64)))
    backbone.init_cfg = dict(type="Pretrained", checkpoint=str(dst))
    backbone.init_weights()
    expected = resize_relative_table(table, grid, (6, 4))
    torch.testing.assert_close(
        backbone.layers[0].attn.relative_position_bias_table.detach(), expected
    )


def test_non_square_table_without_index_asks_for_the_grid(tmp_path):
    state = {"cls_token": torch.zeros(1, 1, 32)}
    state["blocks.0.attn.relative_position_bias_table"] = torch.randn(table_rows((4, 6)), 4)
    src = tmp_path / "no_index.pth"
    torch.save(state, src)
    command = [sys.executable, str(SCRIPT), str(src), str(tmp_path / "out.pth")]
    out = subprocess.run(command, capture_output=True, text=True)
    assert out.returncode == 1 and "--grid H W" in out.stderr
    assert not (tmp_path / "out.pth").exists()
    out = subprocess.run([*command, "--grid", "4", "6"], capture_output=True, text=True)
    assert out.returncode == 0 and "4x6 grid" in out.stdout, out.stderr
