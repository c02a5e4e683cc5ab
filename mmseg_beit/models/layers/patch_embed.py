"""Patch embedding: a strided convolution over the image padded to whole patches."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PatchEmbed(nn.Module):
    """Zero-pads the bottom and right to whole patches, then embeds each patch.

    Same parameters (``projection``) and numbers as MMSegmentation's ``PatchEmbed`` with
    ``padding='corner'``; written without branches on the input size, so one exported graph
    serves every size.

    Args:
        in_channels: Image channels.
        embed_dims: Token width.
        patch_size: Patch side.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, C, H, W) -> (B, h * w, embed_dims) tokens and the token grid (h, w)."""
        p = self.patch_size
        x = F.pad(x, (0, (-x.shape[-1]) % p, 0, (-x.shape[-2]) % p))
        x = self.projection(x)
        return x.flatten(2).transpose(1, 2), (x.shape[-2], x.shape[-1])
