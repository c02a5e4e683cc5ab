"""Loading weights into a model with resizing and a readable report of what did not fit."""

from __future__ import annotations

import os

import torch
from torch import nn

from mmseg_beit.checkpoint.huggingface import convert_huggingface_backbone, is_huggingface
from mmseg_beit.checkpoint.loading import (
    CheckpointError,
    LoadReport,
    load_file,
    load_state_dict_checked,
    state_dict_of,
)
from mmseg_beit.checkpoint.official import convert_backbone
from mmseg_beit.models.utils.abs_position import resize_abs_pos_embed
from mmseg_beit.models.utils.relative_position import (
    legacy_resize_relative_table,
    resize_relative_table,
)
from mmseg_beit.registry import WEIGHT_INITIALIZERS


def fit_backbone_state(
    backbone: nn.Module,
    state_dict: dict[str, torch.Tensor],
    source: str,
    source_grid: tuple[int, int] | None = None,
) -> dict[str, torch.Tensor]:
    """Resizes position tensors of a converted state dict to ``backbone``'s token grid.

    Square tables resized to a larger square grid use the legacy geometric-progression cubic
    scheme (what unilm and mmseg fine-tuned with); other grids, non-square ones included, are
    resampled bilinearly from ``source_grid``. Absolute embeddings: bicubic.

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
        if target is None or value.shape[-1] != target.shape[-1]:
            continue  # not ours, or another width / head count: reported when loading
        if key.endswith("relative_position_bias_table") and tuple(source_grid) != grid:
            # (h, w) and (w, h) grids have tables of one shape: compare grids, not shapes.
            src = source_grid
            if src[0] == src[1] and grid[0] == grid[1] and grid[0] > src[0]:
                fitted[key] = legacy_resize_relative_table(value, grid)
            else:
                fitted[key] = resize_relative_table(value, src, grid)
        elif key == "pos_embed" and value.shape != target.shape:
            side = round((value.shape[1] - 1) ** 0.5)
            src = tuple(source_grid) if source_grid else (side, side)
            fitted[key] = resize_abs_pos_embed(value, src, grid)
    return fitted


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
    raw = load_file(checkpoint)
    state = state_dict_of(raw, source)
    meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
    grid = meta.get("relative_position_grid")
    if prefix:
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if is_huggingface(state):
        state = convert_huggingface_backbone(state)
    conversion = convert_backbone(state, grid=tuple(grid) if grid else None)
    state = fit_backbone_state(backbone, conversion.state_dict, source, conversion.grid)
    return load_state_dict_checked(backbone, state, source, strict=False)


@WEIGHT_INITIALIZERS.register_module()
class BEiTPretrained:
    """``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` of :class:`~mmseg_beit.models.BEiT`.

    Args:
        checkpoint: Any supported checkpoint (see :func:`load_pretrained_backbone`).
        prefix: Only keys under this prefix (stripped), e.g. ``'backbone.'``.
        map_location: Accepted for mmengine's ``Pretrained`` compatibility; loading is on CPU.
    """

    def __init__(self, checkpoint: str, prefix: str | None = None, map_location=None) -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix

    def __call__(self, module: nn.Module) -> None:
        load_pretrained_backbone(module, self.checkpoint, self.prefix)
