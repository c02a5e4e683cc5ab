"""This package's segmentor weights -> transformers' ``BeitForSemanticSegmentation``, and back.

Keys go through :func:`~mmseg_beit.checkpoint.huggingface.our_key`, the table the import from
Hugging Face reads, in the other direction: one mapping, two directions.

transformers feeds its neck block ``i - 2`` for ``i`` in its ``out_indices`` and accepts ``i``
up to its number of blocks only, so it cannot select the last block, which the BEiT recipes use
(``[3, 5, 7, 11]`` of 12). Such a model is exported with one all-zero block appended: its
attention and MLP outputs are zero, so it passes tokens through unchanged, and transformers'
neck never reads it. The export's ``config.json`` carries this package's config under
:data:`EXPORT_KEY`; converting the folder back drops the extra block.
"""

from __future__ import annotations

import re

import torch

from mmseg_beit.checkpoint.huggingface import our_key
from mmseg_beit.checkpoint.loading import CheckpointError

EXPORT_KEY = "mmseg_beit"
_LAYER = re.compile(r"^backbone\.layers\.(\d+)\.")
_DERIVED = re.compile(r"relative_position_index$")  # rebuilt from the grid, not exported


def _layer_of(key: str) -> int | None:
    match = _LAYER.match(key)
    return int(match.group(1)) if match else None


def to_huggingface(
    state: dict[str, torch.Tensor], template: dict[str, torch.Tensor], num_layers: int
) -> dict[str, torch.Tensor]:
    """Fills transformers' state dict ``template`` (its keys and shapes) from ours.

    Blocks from ``num_layers`` on (the appended one) are zeros.

    Raises:
        CheckpointError: A tensor transformers needs is missing or has another shape, or one of
            ours has no place in transformers' model.
    """
    out, used = {}, set()
    for hf_key, like in template.items():
        target = our_key(hf_key)
        if target is None:
            raise CheckpointError(f"transformers' key {hf_key!r} has no counterpart here")
        key, part = target
        if key not in state:
            layer = _layer_of(key)
            if layer is None or layer < num_layers:
                raise CheckpointError(f"transformers needs {hf_key!r}: no {key!r} here")
            out[hf_key] = torch.zeros(like.shape, dtype=like.dtype)
            continue
        value = state[key] if part is None else state[key].chunk(3)[part]
        if value.shape != like.shape:
            raise CheckpointError(
                f"{key!r}: shape {tuple(value.shape)}, transformers' {hf_key!r} has "
                f"{tuple(like.shape)}"
            )
        out[hf_key] = value.detach().to("cpu").clone()
        used.add(key)
    left = sorted(k for k in set(state) - used if not _DERIVED.search(k))
    if left:
        raise CheckpointError(
            f"transformers' BEiT has no place for {left[:5]} ({len(left)} tensors)"
        )
    return out


def from_export(converted: dict[str, torch.Tensor], exported: dict) -> dict[str, torch.Tensor]:
    """Our tensors of an exported folder (already converted by ``convert_huggingface``),
    without the block the export appended.

    Args:
        converted: Output of :func:`~mmseg_beit.checkpoint.huggingface.convert_huggingface`.
        exported: The ``config.json`` entry :data:`EXPORT_KEY` the export wrote.
    """
    num_layers = exported["num_layers"]
    return {
        k: v for k, v in converted.items() if (_layer_of(k) is None or _layer_of(k) < num_layers)
    }
