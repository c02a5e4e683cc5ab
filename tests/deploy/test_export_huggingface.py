"""`mmseg-beit export CKPT DIR --format huggingface`: a folder transformers loads alone, with
this package's logits and labels; converted back, the same tensors; what transformers cannot
express refused before anything is written."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmengine.logging import MessageHub
from PIL import Image
from userland import cli, run

from mmseg_beit.apis import load_segmentor
from mmseg_beit.checkpoint import load_file
from mmseg_beit.cli import main
from mmseg_beit.deploy import export

transformers = pytest.importorskip("transformers")
TOY = REPO / "configs/beit/upernet_beit-tiny_toy.py"


@pytest.fixture(scope="module")
def checkpoint(toy_checkpoint, tmp_path_factory):
    """The toy checkpoint with a logged validation mIoU, as training writes it."""
    raw = load_file(toy_checkpoint)  # the safe loader, as every entry point reads it
    hub = MessageHub.get_instance("export_huggingface_test")
    hub.update_scalar("val/mIoU", 61.25)
    raw["message_hub"] = hub.state_dict()
    raw["meta"]["iter"] = 600
    path = tmp_path_factory.mktemp("hf_export") / "toy.pth"
    torch.save(raw, path)
    return path


@pytest.fixture(scope="module")
def folder(checkpoint):
    out = checkpoint.parent / "toy-hf"
    result = run(cli("export", str(checkpoint), str(out), "--format", "huggingface"), out.parent)
    assert result.returncode == 0, result.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def ours(checkpoint):
    return load_segmentor(checkpoint)


@pytest.fixture(scope="module")
def theirs(folder):
    return transformers.BeitForSemanticSegmentation.from_pretrained(folder).eval()


@pytest.mark.parametrize("size", [(128, 128), (192, 160)])  # the training crop; another grid
def test_transformers_logits_equal_ours(ours, theirs, size):
    captured = {}
    hook = theirs.auxiliary_head.register_forward_hook(lambda m, a, out: captured.update(aux=out))
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        features = ours.extract_feat(x)
        expected = ours.decode_head(features)
        got = theirs(pixel_values=x).logits
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
        torch.testing.assert_close(
            captured["aux"], ours.auxiliary_head(features), atol=1e-4, rtol=0
        )
    hook.remove()
    assert expected.abs().max() > 0.1  # not a degenerate model


def test_config_takes_the_blocks_the_model_was_trained_with(folder, ours):
    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["BeitForSemanticSegmentation"]
    # transformers feeds its neck hidden_states[i - 1], block i - 2; block 3 is the 4th of 4,
    # so one all-zero block is appended for transformers to accept i = 5.
    assert config["out_indices"] == [2, 3, 4, 5] and config["num_hidden_layers"] == 5
    assert ours.backbone.out_indices == (0, 1, 2, 3) and ours.backbone.num_layers == 4
    assert config["id2label"] == {str(i): c for i, c in enumerate(ours.dataset_meta["classes"])}
    assert (config["auxiliary_channels"], config["auxiliary_num_convs"]) == (32, 1)
    assert config["use_relative_position_bias"] and not config["use_absolute_position_embeddings"]


def test_preprocessor_has_this_models_normalisation_and_labels(folder, ours):
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    mean = ours.data_preprocessor.mean.flatten() / 255
    std = ours.data_preprocessor.std.flatten() / 255
    assert np.allclose(processor["image_mean"], mean) and np.allclose(processor["image_std"], std)
    assert processor["size"] == {"height": 128, "width": 128}
    assert processor["do_reduce_labels"] is True  # the toy data reduce label 0, like ADE20K


def test_model_card_names_classes_logged_miou_and_loading(folder):
    card = (folder / "README.md").read_text()
    assert "last validation: 61.25" in card and "iteration 600" in card
    assert "ground, disc, box, triangle, stripe" in card
    for usage in ("from_pretrained", "hf upload", "upload_folder", "mmseg-beit convert"):
        assert usage in card


def _label_map(results: list[dict], label2id: dict, shape: tuple) -> np.ndarray:
    labels = np.full(shape, -1)
    for result in results:
        labels[np.asarray(result["mask"]) > 0] = label2id[result["label"]]
    return labels


def _our_labels(ours, pixel_values: torch.Tensor, image: Image.Image) -> np.ndarray:
    """This package's logits for the processor's input, resized once to the image and argmaxed
    as transformers' post-processing does (mmseg's test mode resizes twice: to the input, then
    to the image, which moves a few boundary pixels)."""
    with torch.no_grad():
        logits = ours.decode_head(ours.extract_feat(pixel_values))
    logits = F.interpolate(logits, size=image.size[::-1], mode="bilinear", align_corners=False)
    return logits.argmax(1)[0].numpy()


def _check_pipeline(folder, ours, image: Image.Image) -> None:
    segmenter = transformers.pipeline("image-segmentation", model=str(folder))
    theirs = _label_map(segmenter(image), segmenter.model.config.label2id, image.size[::-1])
    pixels = segmenter.image_processor(image, return_tensors="pt")["pixel_values"]
    expected = _our_labels(ours, pixels, image)
    assert theirs.min() >= 0 and len(np.unique(expected)) > 1
    assert np.mean(theirs == expected) > 0.999  # argmax ties may fall apart at 1e-6


def test_pipeline_label_map_equals_ours_on_a_toy_scene(folder, ours, toy_root):
    path = sorted((toy_root / "images" / "validation").glob("*"))[0]
    _check_pipeline(folder, ours, Image.open(path).convert("RGB"))


def test_pipeline_label_map_equals_ours_on_an_ade20k_image(folder, ours, ade_samples):
    path = sorted((ade_samples / "images").glob("*.jpg"))[0]
    _check_pipeline(folder, ours, Image.open(path).convert("RGB"))


def test_round_trip_gives_the_same_tensors_and_logits(folder, checkpoint, ours, tmp_path):
    back = tmp_path / "back.pth"
    assert main(["convert", str(folder), str(back)]) == 0
    original = load_file(checkpoint)["state_dict"]
    state = load_file(back)["state_dict"]
    derived = {k for k in original if k.endswith("relative_position_index")}
    assert set(state) == set(original) - derived  # the appended block is gone
    for key, value in state.items():
        assert torch.equal(value, original[key]), key
    again = load_segmentor(back)  # the checkpoint carries the exported config and classes
    assert list(again.dataset_meta["classes"]) == list(ours.dataset_meta["classes"])
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(
            again.decode_head(again.extract_feat(x)), ours.decode_head(ours.extract_feat(x))
        )


def _variant(tmp_path, **options) -> str:
    """A toy checkpoint (with its config) of a changed toy model."""
    model = load_segmentor(TOY, cfg_options=options)
    meta = {"cfg": model.cfg.pretty_text, "dataset_meta": model.dataset_meta}
    path = tmp_path / "variant.pth"
    torch.save({"state_dict": model.state_dict(), "meta": meta}, path)
    return str(path)


def _refused(tmp_path, capsys, checkpoint: str, *extra: str) -> str:
    out = tmp_path / "out"
    code = main(["export", checkpoint, str(out), "--format", "huggingface", *extra])
    assert code == 2
    assert not out.exists() and not list(tmp_path.glob(".out*"))  # nothing, not even a temp
    return capsys.readouterr().err


def test_vit_mode_backbone_is_refused(tmp_path, capsys):
    ckpt = _variant(tmp_path, **{"model.backbone.qv_bias": False, "model.backbone.qkv_bias": True})
    assert "ViT mode (qkv_bias=True)" in _refused(tmp_path, capsys, ckpt)


def test_non_square_training_grid_is_refused(tmp_path, capsys):
    ckpt = _variant(tmp_path, **{"model.backbone.img_size": (128, 96)})
    assert "non-square img_size (128, 96)" in _refused(tmp_path, capsys, ckpt)


def test_other_neck_rescales_are_refused(tmp_path, capsys):
    ckpt = _variant(tmp_path, **{"model.neck.rescales": [4, 2, 1, 0.25]})
    assert "rescales (4, 2, 1, 0.5)" in _refused(tmp_path, capsys, ckpt)


def test_uperhead_narrower_than_the_backbone_is_refused(tmp_path, capsys):
    ckpt = _variant(tmp_path, **{"model.decode_head.channels": 32})
    assert "channels = backbone width 64" in _refused(tmp_path, capsys, ckpt)


def test_auxiliary_head_with_dilation_is_refused(tmp_path, capsys):
    ckpt = _variant(tmp_path, **{"model.auxiliary_head.dilation": 2})
    assert "3x3 convolutions without dilation" in _refused(tmp_path, capsys, ckpt)


def test_bgr_model_is_refused(tmp_path, capsys):
    ckpt = _variant(tmp_path, **{"model.data_preprocessor.bgr_to_rgb": False})
    assert "takes BGR images" in _refused(tmp_path, capsys, ckpt)


def test_non_empty_output_folder_is_kept_without_force(checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    code = main(["export", str(checkpoint), str(out), "--format", "huggingface"])
    assert code == 2 and "not empty (--force replaces it)" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert main(["export", str(checkpoint), str(out), "--format", "huggingface", "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "config.json", "model.safetensors", "preprocessor_config.json",
    ]  # fmt: skip
    assert not list(tmp_path.glob(".out*"))


def test_onnx_export_without_the_deploy_extra_names_it(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript fails
    out = tmp_path / "model.onnx"
    with pytest.raises(ImportError, match=r"pip install 'mmseg-beit\[deploy\]'"):
        export(checkpoint, out)
    assert not out.exists()


def test_copy_of_input_inside_the_output_folder_is_refused(checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    inside = out / "toy.pth"
    shutil.copy(checkpoint, inside)
    code = main(["export", str(inside), str(out), "--format", "huggingface", "--force"])
    assert code == 2 and "holds the input" in capsys.readouterr().err
    assert inside.read_bytes() == checkpoint.read_bytes()
