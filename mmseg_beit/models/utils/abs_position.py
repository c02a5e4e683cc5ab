"""Absolute position embeddings (ViT): resampling to another token grid."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_abs_pos_embed(pos_embed: torch.Tensor, src_grid, dst_grid) -> torch.Tensor:
    """Resamples (1, 1 + h * w, C) absolute position embeddings to another grid (bicubic)."""
    if not torch.compiler.is_exporting() and tuple(src_grid) == tuple(dst_grid):
        return pos_embed
    cls_pos, patch_pos = pos_embed[:, :1], pos_embed[:, 1:]
    channels = pos_embed.shape[-1]
    patch_pos = patch_pos.reshape(1, *src_grid, channels).permute(0, 3, 1, 2)
    patch_pos = F.interpolate(patch_pos.float(), size=tuple(dst_grid), mode="bicubic")
    patch_pos = patch_pos.to(pos_embed.dtype).flatten(2).transpose(1, 2)
    return torch.cat([cls_pos, patch_pos], dim=1)
