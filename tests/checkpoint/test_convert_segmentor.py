"""``mmseg-beit convert`` of a whole segmentor's checkpoint: kept whole, or the backbone alone
with every dropped tensor counted by part."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from mmseg_beit.apis import load_segmentor, segment
from mmseg_beit.checkpoint import load_file, state_dict_of
from mmseg_beit.cli import main


def _convert(capsys, *args: str) -> str:
    assert main(["convert", *map(str, args)]) == 0
    return capsys.readouterr().out


def _probs(model) -> torch.Tensor:
    """Class probabilities of the model's test mode (softmax of its logits) on a fixed image."""
    image = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    return torch.from_numpy(segment(model, image, with_probs=True)[0].probs)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_whole_segmentor_converts_whole_with_equal_outputs(
    toy_checkpoint, tmp_path, capsys, suffix
):
    dst = tmp_path / f"toy{suffix}"
    out = _convert(capsys, toy_checkpoint, dst)
    source = state_dict_of(load_file(toy_checkpoint))
    assert f"{len(source)} tensors kept" in out and "0 dropped" in out
    converted = load_segmentor(dst)  # no config file: the checkpoint carries it
    original = load_segmentor(toy_checkpoint)
    assert list(converted.dataset_meta["classes"]) == list(original.dataset_meta["classes"])
    torch.testing.assert_close(_probs(converted), _probs(original), atol=0, rtol=0)


def test_backbone_only_summary_counts_what_it_dropped_by_part(toy_checkpoint, tmp_path, capsys):
    dst = tmp_path / "backbone.pth"
    out = _convert(capsys, toy_checkpoint, dst, "--backbone-only")
    source = state_dict_of(load_file(toy_checkpoint))
    kept = state_dict_of(load_file(dst))
    parts = Counter(key.split(".", 1)[0] for key in source)
    indices = sum(k.startswith("backbone.") and k.endswith("_index") for k in source)
    assert len(kept) == parts["backbone"] - indices
    expected = (
        f"{len(kept)} tensors kept, {len(source) - len(kept)} dropped (backbone {indices}, "
        f"neck {parts['neck']}, decode_head {parts['decode_head']}, "
        f"auxiliary_head {parts['auxiliary_head']}:"
    )
    assert expected in out and "--backbone-only" in out
    assert parts["neck"] and parts["decode_head"] and parts["auxiliary_head"]
    for key, value in kept.items():
        torch.testing.assert_close(value, source[f"backbone.{key}"], atol=0, rtol=0)
