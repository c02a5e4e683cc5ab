"""Loading weights into a model with resizing and a readable report of what did not fit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from mmengine.logging import print_log
from torch import nn

from mmseg_beit.checkpoint.huggingface import convert_huggingface_backbone, is_huggingface
from mmseg_beit.checkpoint.loading import CheckpointError, load_file, state_dict_of
from mmseg_beit.checkpoint.official import convert_backbone
from mmseg_beit.models.utils.abs_position import resize_abs_pos_embed
from mmseg_beit.models.utils.relative_position import (
    grid_of_table,
    legacy_resize_relative_table,
    resize_relative_table,
)

_SHOWN = 5


@dataclass
class LoadReport:
    """Keys that did not fit when loading a state dict into a module."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    loaded: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """'N missing (first few), N unexpected (...), N shape-mismatched (...)'."""

        def part(name: str, items: list[str]) -> str:
            more = f", ... {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
            return f"{len(items)} {name} ({', '.join(items[:_SHOWN])}{more})"

        shapes = [f"{k}: file {list(a)} vs model {list(b)}" for k, a, b in self.mismatched]
        parts = [
            part(name, items)
            for name, items in (
                ("missing", self.missing),
                ("unexpected", self.unexpected),
                ("shape-mismatched", shapes),
            )
            if items
        ]
        return "; ".join(parts) or "all keys matched"


def load_state_dict_checked(
    module: nn.Module, state_dict: dict[str, torch.Tensor], source: str, strict: bool = True
) -> LoadReport:
    """Loads the tensors that fit; raises on any misfit when ``strict`` or when nothing fits.

    Raises:
        CheckpointError: Naming ``source`` and listing missing, unexpected and
            shape-mismatched keys (the first few of each and the counts).
    """
    own = module.state_dict()
    report = LoadReport(
        missing=[k for k in own if k not in state_dict and not k.endswith("_index")],
        unexpected=[k for k in state_dict if k not in own],
        mismatched=[
            (k, tuple(v.shape), tuple(own[k].shape))
            for k, v in state_dict.items()
            if k in own and v.shape != own[k].shape
        ],
    )
    fitting = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
    report.loaded = len(fitting)
    name = type(module).__name__
    if not fitting or (strict and not report.clean):
        raise CheckpointError(f"{source}: does not fit {name}: {report.describe()}")
    module.load_state_dict(fitting, strict=False)
    level = "current"
    print_log(f"loaded {report.loaded} tensors from {source} into {name}", level)
    if not report.clean:
        print_log(f"{source}: {report.describe()}", level, level=30)
    return report


def fit_backbone_state(
    backbone: nn.Module, state_dict: dict[str, torch.Tensor], source: str
) -> dict[str, torch.Tensor]:
    """Resizes position tensors of a converted state dict to ``backbone``'s token grid.

    Square relative tables use the legacy geometric-progression cubic scheme (what unilm and
    mmseg fine-tuned with); other grids fall back to bilinear. Absolute embeddings: bicubic.

    Raises:
        CheckpointError: If the patch size differs.
    """
    own = backbone.state_dict()
    key = "patch_embed.projection.weight"
    if key in state_dict and key in own and state_dict[key].shape[-2:] != own[key].shape[-2:]:
        raise CheckpointError(
            f"{source}: patch size {tuple(state_dict[key].shape[-2:])} does not match the "
            f"model's {tuple(own[key].shape[-2:])}; patch embeddings cannot be resized"
        )
    fitted = dict(state_dict)
    grid = tuple(backbone.grid)
    for key, value in state_dict.items():
        target = own.get(key)
        if target is None or value.shape == target.shape:
            continue
        if key.endswith("relative_position_bias_table") and value.shape[1] == target.shape[1]:
            square = grid[0] == grid[1]
            resize = legacy_resize_relative_table if square else _bilinear_table
            fitted[key] = resize(value, grid)
        elif key == "pos_embed" and value.shape[-1] == target.shape[-1]:
            side = round((value.shape[1] - 1) ** 0.5)
            fitted[key] = resize_abs_pos_embed(value, (side, side), grid)
    return fitted


def _bilinear_table(table: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    return resize_relative_table(table, grid_of_table(table.shape[0]), grid)


def load_pretrained_backbone(
    backbone: nn.Module, checkpoint: str | os.PathLike, prefix: str | None = None
) -> LoadReport:
    """Initialises a :class:`~mmseg_beit.models.BEiT` from any supported checkpoint file.

    Args:
        backbone: The backbone to fill.
        checkpoint: Official (unilm / timm), mmpretrain, Hugging Face or mmseg weights.
        prefix: Only keys under this prefix (stripped), e.g. ``'backbone.'``.
    """
    source = str(checkpoint)
    state = state_dict_of(load_file(checkpoint), source)
    if prefix:
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if is_huggingface(state):
        state = convert_huggingface_backbone(state)
    else:
        keep_norm = getattr(backbone, "norm", None) is not None
        state = convert_backbone(state, keep_final_norm=keep_norm).state_dict
    state = fit_backbone_state(backbone, state, source)
    return load_state_dict_checked(backbone, state, source, strict=False)
