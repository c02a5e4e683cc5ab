"""Hugging Face weights -> this package: same outputs as transformers (random tiny models)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import REPO
from mmengine.config import ConfigDict

from mmseg_beit.apis import load_segmentor
from mmseg_beit.checkpoint.hf_config import backbone_config, segmentor_config
from mmseg_beit.checkpoint.huggingface import convert_huggingface, read_huggingface
from mmseg_beit.checkpoint.loading import load_file
from mmseg_beit.cli import main
from mmseg_beit.registry import MODELS

transformers = pytest.importorskip("transformers")

TINY = dict(
    hidden_size=32, num_hidden_layers=6, num_attention_heads=4, intermediate_size=64, patch_size=16
)


def _randomize_hf(model):
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.dtype.is_floating_point:
                values = torch.randn(tensor.shape, generator=generator) * 0.2
                tensor.copy_(values.abs() + 0.5 if "running_var" in name else values)
    return model.eval()


@pytest.fixture(scope="module")
def hf_segmentation(tmp_path_factory):
    config = transformers.BeitConfig(
        **TINY,
        image_size=64,
        out_indices=[2, 3, 4, 5],
        use_relative_position_bias=True,
        use_auxiliary_head=True,
        auxiliary_channels=16,
        auxiliary_num_convs=1,
        auxiliary_concat_input=False,
        num_labels=5,
        pool_scales=[1, 2, 3, 6],
        id2label={i: f"class{i}" for i in range(5)},
        label2id={f"class{i}": i for i in range(5)},
    )
    model = _randomize_hf(transformers.BeitForSemanticSegmentation(config))
    folder = tmp_path_factory.mktemp("hf_seg")
    model.save_pretrained(folder)
    return model, folder


def _our_segmentor(config: dict, blocks: str, checkpoint):
    cfg = segmentor_config(config, blocks)
    for part in ("neck", "decode_head", "auxiliary_head"):
        cfg[part]["norm_cfg"] = dict(type="BN", requires_grad=True)
    cfg["test_cfg"] = dict(mode="whole")
    model = MODELS.build(ConfigDict(cfg))
    model.load_state_dict(load_file(checkpoint)["state_dict"], strict=True)
    return model.eval()


def _convert(folder, dst, *extra):
    script = REPO / "tools/model_converters/hf2mmseg.py"
    command = [sys.executable, str(script), str(folder), str(dst), *extra]
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_transformers_feeds_its_neck_blocks_i_minus_2(hf_segmentation):
    model, _ = hf_segmentation
    captured = {}

    def keep_inputs(module, args, out) -> None:
        captured["inputs"] = args[0]

    handle = model.fpn.register_forward_hook(keep_inputs)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        hidden = model.beit(x, output_hidden_states=True).hidden_states
        model(x)
    handle.remove()
    assert len(hidden) == 7  # embeddings + 6 blocks: hidden[j] is the output of 0-based block j-1
    for i, fed in zip(model.config.out_indices, captured["inputs"]):
        tokens = hidden[i - 1][:, 1:].transpose(1, 2).reshape(fed.shape)
        torch.testing.assert_close(fed, tokens)  # i.e. block i - 2, not block i as in unilm


def test_segmentation_logits_equal_transformers(hf_segmentation, tmp_path):
    model, folder = hf_segmentation
    _convert(folder, tmp_path / "seg.pth", "--config-out", str(tmp_path / "cfg.py"))
    assert (tmp_path / "cfg.py").is_file()
    _, config = read_huggingface(folder)
    ours = _our_segmentor(config, "transformers", tmp_path / "seg.pth")
    assert ours.backbone.out_indices == (0, 1, 2, 3)
    meta = load_file(tmp_path / "seg.pth")["meta"]
    assert meta["dataset_meta"]["classes"] == [f"class{i}" for i in range(5)]
    captured = {}

    def keep_pyramid(module, args, out) -> None:
        captured["pyramid"] = out

    handle = model.fpn.register_forward_hook(keep_pyramid)
    for size in ((64, 64), (96, 80)):  # the second resamples the relative tables
        x = torch.randn(2, 3, *size)
        with torch.no_grad():
            expected = model(x, interpolate_pos_encoding=size != (64, 64)).logits
            features = ours.neck(ours.backbone(x))
            got = ours.decode_head(features)
            torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
            aux_expected = model.auxiliary_head(captured["pyramid"])
            torch.testing.assert_close(
                ours.auxiliary_head(features), aux_expected, atol=1e-4, rtol=0
            )
    handle.remove()


def test_in_memory_transformers5_names_convert_like_the_files(hf_segmentation):
    model, folder = hf_segmentation
    from_file = convert_huggingface(read_huggingface(folder)[0])
    from_memory = convert_huggingface(model.state_dict())
    assert from_file.keys() == from_memory.keys()
    for key in from_file:
        torch.testing.assert_close(from_file[key], from_memory[key], msg=key)


def _features(model, x, blocks):
    hidden = model(x, output_hidden_states=True).hidden_states
    grid = (x.shape[-2] // 16, x.shape[-1] // 16)
    return [hidden[b + 1][:, 1:].transpose(1, 2).reshape(x.shape[0], -1, *grid) for b in blocks]


def _our_backbone(config: dict, checkpoint, **overrides):
    cfg = dict(backbone_config(config), out_indices=[0, 2, 5], **overrides)
    cfg["init_cfg"] = dict(type="Pretrained", checkpoint=str(checkpoint))
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    return backbone.eval()


def test_pretraining_model_with_shared_table(tmp_path):
    config = transformers.BeitConfig(
        **TINY, image_size=64, use_shared_relative_position_bias=True, use_mask_token=True
    )
    hf = _randomize_hf(transformers.BeitForMaskedImageModeling(config))
    hf.save_pretrained(tmp_path / "mim")
    _convert(tmp_path / "mim", tmp_path / "mim.pth")
    _, hf_config = read_huggingface(tmp_path / "mim")
    ours = _our_backbone(hf_config, tmp_path / "mim.pth")
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(ours(x), _features(hf.beit, x, [0, 2, 5])):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=0)


def test_vit_in21k_style_model_in_vit_mode(tmp_path):
    config = transformers.ViTConfig(**TINY, image_size=64, hidden_act="gelu")
    hf = _randomize_hf(transformers.ViTModel(config, add_pooling_layer=True))
    hf.save_pretrained(tmp_path / "vit")
    _convert(tmp_path / "vit", tmp_path / "vit.pth")
    _, hf_config = read_huggingface(tmp_path / "vit")
    ours = _our_backbone(hf_config, tmp_path / "vit.pth")
    keys = set(ours.state_dict())
    assert (
        "pos_embed" in keys
        and "layers.0.attn.qkv.bias" in keys
        and not any("gamma" in k for k in keys)
    )
    assert ours.layers[0].ln1.eps == 1e-12
    with torch.no_grad():
        x = torch.randn(2, 3, 64, 64)
        for a, b in zip(ours(x), _features(hf, x, [0, 2, 5])):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=0)
        x = torch.randn(1, 3, 80, 48)  # absolute embeddings resampled bicubic, as transformers does
        hidden = hf(x, output_hidden_states=True, interpolate_pos_encoding=True).hidden_states
        got = ours(x)[-1]
        torch.testing.assert_close(
            got, hidden[6][:, 1:].transpose(1, 2).reshape(got.shape), atol=1e-4, rtol=0
        )


def test_vit_embeddings_resized_when_loading_at_another_size(tmp_path):
    config = transformers.ViTConfig(**TINY, image_size=64)
    hf = _randomize_hf(transformers.ViTModel(config))
    hf.save_pretrained(tmp_path / "vit")
    _convert(tmp_path / "vit", tmp_path / "vit.pth")
    ours = _our_backbone(read_huggingface(tmp_path / "vit")[1], tmp_path / "vit.pth", img_size=96)
    assert ours.pos_embed.shape == (1, 37, 32)
    with torch.no_grad():
        x = torch.randn(1, 3, 96, 96)
        hidden = hf(x, output_hidden_states=True, interpolate_pos_encoding=True).hidden_states
        torch.testing.assert_close(
            ours(x)[-1], hidden[6][:, 1:].transpose(1, 2).reshape(1, 32, 6, 6), atol=1e-4, rtol=0
        )


def _converted_segmentation_model(tmp_path, **config):
    """A random BeitForSemanticSegmentation, saved, converted (transformers' blocks), loaded."""
    config = transformers.BeitConfig(
        **TINY, image_size=64, out_indices=[2, 3, 4, 5], num_labels=3, **config
    )
    hf = _randomize_hf(transformers.BeitForSemanticSegmentation(config))
    hf.save_pretrained(tmp_path / "hf")
    assert main(["convert", str(tmp_path / "hf"), str(tmp_path / "seg.pth"), "--blocks",
                 "transformers"]) == 0  # fmt: skip
    return hf, load_segmentor(tmp_path / "seg.pth")  # its own run config


def _assert_same_logits(hf, ours, x):
    with torch.no_grad():
        expected = hf(x, interpolate_pos_encoding=True).logits
        got = ours.decode_head(ours.neck(ours.backbone(x)))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def test_one_channel_model_converts_with_one_input_channel(tmp_path):
    hf, ours = _converted_segmentation_model(tmp_path, num_channels=1, auxiliary_channels=16)
    assert ours.backbone.patch_embed.projection.in_channels == 1
    assert ours.data_preprocessor.mean.shape == (1, 1, 1)
    loads = [s for s in ours.cfg.test_dataloader.dataset.pipeline if "LoadImage" in s["type"]]
    assert loads[0]["color_type"] == "grayscale"
    _assert_same_logits(hf, ours, torch.randn(2, 1, 64, 80))


def test_model_without_auxiliary_head_converts_without_one(tmp_path):
    hf, ours = _converted_segmentation_model(tmp_path, use_auxiliary_head=False)
    assert not ours.with_auxiliary_head
    _assert_same_logits(hf, ours, torch.randn(1, 3, 64, 64))


def _edited_copy(folder, tmp_path, **changes):
    """A copy of a save_pretrained folder whose config.json has ``changes``."""
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps(dict(config, **changes)))
    return copy


def test_segmentor_of_four_channel_images_is_refused_before_writing(
    hf_segmentation, tmp_path, capsys
):
    copy = _edited_copy(hf_segmentation[1], tmp_path, num_channels=4)
    assert main(["convert", str(copy), str(tmp_path / "seg.pth")]) == 1
    err = capsys.readouterr().err
    assert "num_channels 4: image files load as 1 (grayscale) or 3 (colour) channels" in err
    assert "--backbone-only" in err and not (tmp_path / "seg.pth").exists()


def test_out_indices_beyond_the_blocks_are_refused_at_conversion(hf_segmentation, tmp_path, capsys):
    # hidden states 3..6: valid for transformers
    copy = _edited_copy(hf_segmentation[1], tmp_path, out_indices=[3, 4, 5, 6])
    assert main(["convert", str(copy), str(tmp_path / "seg.pth")]) == 1
    err = capsys.readouterr().err
    assert "out_indices [3, 4, 5, 6] with --blocks unilm select blocks [3, 4, 5, 6]" in err
    assert "the model has 6 (0..5); try --blocks transformers" in err
    assert not (tmp_path / "seg.pth").exists()
