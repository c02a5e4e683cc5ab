"""Official BEiT (unilm, timm) and mmpretrain checkpoints -> this package's backbone keys.

The target layout is MMSegmentation's BEiT backbone (``patch_embed.projection``,
``layers.{i}.ln1/attn/ln2/ffn.layers.0.0/ffn.layers.1/gamma_1/gamma_2``); ``pos_embed`` and a
final ``norm`` are kept for ViT-mode checkpoints.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import torch

from mmseg_beit.checkpoint.loading import (
    CheckpointError,
    load_file,
    save_checkpoint,
    state_dict_of,
)
from mmseg_beit.models.utils.relative_position import grid_of_index, grid_of_table

_SHARED_TABLE = "rel_pos_bias.relative_position_bias_table"
# Official / timm names inside a block -> mmseg names.
_BLOCK_RENAMES = (
    ("norm1.", "ln1."),
    ("norm2.", "ln2."),
    ("mlp.fc1.", "ffn.layers.0.0."),
    ("mlp.fc2.", "ffn.layers.1."),
)
_FINAL_NORM = {"official": "norm.", "mmpretrain": "ln1."}
# Keys of heads, pre-training and bookkeeping that a segmentation backbone never uses.
_DROPPED = re.compile(
    r"(^|\.)relative_position_index$|^(mask_token|lm_head\.|head\.|fc_norm\.|pre_norm\.|"
    r"rel_pos_bias\.relative_position_index|neck\.|target_generator\.|data_preprocessor\.)"
)


SEGMENTOR_PARTS = ("backbone", "neck", "decode_head", "auxiliary_head")


def count_parts(keys: list[str]) -> str:
    """'backbone 4, neck 10, decode_head 70, auxiliary_head 13, other 2' (parts present)."""
    counts = dict.fromkeys((*SEGMENTOR_PARTS, "other"), 0)
    for key in keys:
        part = key.split(".", 1)[0]
        counts[part if part in SEGMENTOR_PARTS else "other"] += 1
    return ", ".join(f"{part} {n}" for part, n in counts.items() if n)


@dataclass
class Conversion:
    """A converted backbone state dict and what happened on the way."""

    state_dict: dict[str, torch.Tensor]
    source_format: str
    dropped: list[str] = field(default_factory=list)
    expanded_shared_table: bool = False
    grid: tuple[int, int] | None = None  # token grid of the relative tables, when known


def _block_key(key: str) -> str:
    match = re.match(r"blocks\.(\d+)\.(.*)", key)
    if match is None:
        return key
    rest = match.group(2)
    for old, new in _BLOCK_RENAMES:
        if rest.startswith(old):
            rest = new + rest[len(old) :]
            break
    return f"layers.{match.group(1)}.{rest}"


def detect_format(state_dict: dict[str, torch.Tensor]) -> str:
    """'official' (unilm / timm), 'mmpretrain', 'mmseg-segmentor' or 'mmseg' backbone keys."""
    keys = list(state_dict)
    if any(k.startswith("blocks.") for k in keys):
        return "official"
    if any(k.startswith("backbone.layers.") for k in keys):
        heads = any(k.startswith(("decode_head.", "auxiliary_head.")) for k in keys)
        return "mmseg-segmentor" if heads else "mmpretrain"
    if any(k.startswith("layers.") for k in keys):
        return "mmseg"
    raise CheckpointError(
        "unknown checkpoint layout: expected official BEiT keys (blocks.N...), mmpretrain or "
        f"mmseg keys (layers.N... or backbone.layers.N...); first keys: {keys[:6]}"
    )


def index_grid(state_dict: dict[str, torch.Tensor]) -> tuple[int, int] | None:
    """The token grid of the first valid ``relative_position_index`` in a state dict, if any.

    The index is derived data that no model loads, so one that is not an index is ignored.
    """
    for key, value in state_dict.items():
        if key.endswith("relative_position_index"):
            try:
                return grid_of_index(value)
            except ValueError:
                continue
    return None


def convert_backbone(
    state_dict: dict[str, torch.Tensor],
    keep_final_norm: bool = False,
    grid: tuple[int, int] | None = None,
) -> Conversion:
    """Converts any supported BEiT / ViT backbone layout to this package's keys.

    Unwrapped tensors only (see :func:`mmseg_beit.checkpoint.loading.state_dict_of`). A shared
    relative table (pre-training checkpoints) is copied into every block; indices, heads and
    pre-training extras are dropped.

    Args:
        state_dict: Tensors of an official, timm, mmpretrain or mmseg checkpoint.
        keep_final_norm: Keep the encoder's final norm (official ``norm``, mmpretrain ``ln1``)
            as ``norm``. BEiT segmentation uses block outputs without it, so by default it is
            dropped.
        grid: Token grid of the relative tables when the file has no index to tell it (a
            non-square grid cannot be read from a table's row count).

    Raises:
        CheckpointError: Unknown layout, or relative tables whose grid is not known.
    """
    source_format = detect_format(state_dict)
    grid = grid or index_grid(state_dict)
    prefixed = source_format in ("mmpretrain", "mmseg-segmentor")  # keys name their part
    out, dropped = {}, []  # dropped: the source's own key names
    for name, value in state_dict.items():
        if prefixed and not name.startswith("backbone."):
            dropped.append(name)  # neck, heads, ...
            continue
        key = name.removeprefix("backbone.") if prefixed else name
        if source_format in ("official", "mmpretrain") and key.startswith(
            _FINAL_NORM[source_format]
        ):
            if not keep_final_norm:
                dropped.append(name)
                continue
            key = "norm." + key.split(".", 1)[1]
        if _DROPPED.search(key):
            dropped.append(name)
            continue
        key = key.replace("patch_embed.proj.", "patch_embed.projection.")
        out[_block_key(key)] = value
    shared = out.pop(_SHARED_TABLE, None)
    if shared is not None:
        layers = sorted({int(k.split(".")[1]) for k in out if k.startswith("layers.")})
        for layer in layers:
            out.setdefault(f"layers.{layer}.attn.relative_position_bias_table", shared.clone())
    table = next((v for k, v in out.items() if k.endswith("relative_position_bias_table")), None)
    if table is not None:
        try:
            grid = grid_of_table(table.shape[0], grid)
        except ValueError as error:
            raise CheckpointError(str(error)) from error
    return Conversion(out, source_format, sorted(dropped), shared is not None, grid)


def describe(conversion: Conversion) -> str:
    """One paragraph: layers, width, heads, table grid, what was dropped or expanded."""
    state = conversion.state_dict
    layers = {int(k.split(".")[1]) for k in state if k.startswith("layers.")}
    width = state["cls_token"].shape[-1] if "cls_token" in state else "?"
    table = state.get("layers.0.attn.relative_position_bias_table")
    if table is not None:
        grid = "x".join(map(str, conversion.grid))
        heads = table.shape[1]
        shared = " (expanded from one shared table)" if conversion.expanded_shared_table else ""
        position = f"relative tables for a {grid} grid{shared}"
    else:
        heads = "?"
        position = "no relative tables"
    dropped = ", ".join(conversion.dropped[:6]) + (" ..." if len(conversion.dropped) > 6 else "")
    if conversion.source_format in ("mmpretrain", "mmseg-segmentor") and dropped:
        dropped = f"{count_parts(conversion.dropped)}: {dropped}"
    return (
        f"{conversion.source_format} checkpoint: {len(layers)} layers, width {width}, "
        f"{heads} heads, {position}; {len(state)} tensors kept, "
        f"{len(conversion.dropped)} dropped ({dropped or 'none'})"
    )


def backbone_meta(conversion: Conversion, src: str | os.PathLike) -> dict:
    """The meta a converted backbone file carries: its source and the grid of its tables."""
    meta = {"converted_from": str(src), "source_format": conversion.source_format}
    if conversion.grid is not None:
        meta["relative_position_grid"] = list(conversion.grid)
    return meta


def convert_official_file(
    src: str | os.PathLike, dst: str | os.PathLike, grid: tuple[int, int] | None = None
) -> Conversion:
    """Reads an official / timm / mmpretrain BEiT file and writes this package's backbone keys.

    The output (``{'state_dict': ..., 'meta': ...}``, written atomically in the format its
    suffix names, never over ``src``) loads with
    ``BEiT(init_cfg=dict(type='Pretrained', checkpoint=dst))``; its meta records the grid of
    the relative tables.
    """
    conversion = convert_backbone(state_dict_of(load_file(src), src), grid=grid)
    save_checkpoint(conversion.state_dict, backbone_meta(conversion, src), dst, inputs=(src,))
    return conversion
