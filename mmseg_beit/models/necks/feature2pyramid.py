"""Feature2Pyramid: turns four stride-16 ViT maps into a stride 4/8/16/32 pyramid."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import nn

from mmseg_beit.registry import MODELS

# Rescale factor -> attribute name (MMSegmentation's, so its checkpoints load).
_NAMES = {
    4: "upsample_4x",
    2: "upsample_2x",
    1: "identity",
    0.5: "downsample_2x",
    0.25: "downsample_4x",
}


@MODELS.register_module()
class Feature2Pyramid(nn.Module):
    """Rescales the i-th input by ``rescales[i]``.

    4x: ConvT 2x2 -> norm -> GELU -> ConvT 2x2; 2x: ConvT 2x2; 1x: identity; 0.5x / 0.25x: max
    pooling.

    Args:
        embed_dim: Channels of every input (and output).
        rescales: One factor per input, from {4, 2, 1, 0.5, 0.25}, each at most once.
        norm_cfg: Norm between the two 4x transposed convolutions.
    """

    def __init__(
        self,
        embed_dim: int,
        rescales: Sequence[float] = (4, 2, 1, 0.5),
        norm_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        norm_cfg = norm_cfg or dict(type="SyncBN", requires_grad=True)
        unknown = [k for k in rescales if k not in _NAMES]
        if unknown or len(set(rescales)) != len(rescales):
            raise ValueError(
                f"rescales must be distinct values from {list(_NAMES)}, got {rescales}"
            )
        self.rescales = tuple(rescales)
        for factor in self.rescales:
            setattr(self, _NAMES[factor], self._build(factor, embed_dim, norm_cfg))

    @staticmethod
    def _build(factor: float, channels: int, norm_cfg: dict) -> nn.Module:
        def up() -> nn.ConvTranspose2d:
            return nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2)

        if factor == 4:
            return nn.Sequential(up(), build_norm_layer(norm_cfg, channels)[1], nn.GELU(), up())
        if factor == 2:
            return nn.Sequential(up())
        if factor == 1:
            return nn.Identity()
        return nn.MaxPool2d(kernel_size=int(1 / factor), stride=int(1 / factor))

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """Maps ``len(rescales)`` NCHW tensors to the pyramid, finest first."""
        if len(inputs) != len(self.rescales):
            raise ValueError(
                f"Feature2Pyramid got {len(inputs)} inputs for {len(self.rescales)} rescales"
            )
        return tuple(self._rescale(k, x) for k, x in zip(self.rescales, inputs))

    def _rescale(self, factor: float, x: torch.Tensor) -> torch.Tensor:
        layer = getattr(self, _NAMES[factor])
        if factor < 1:
            # A map smaller than the pooling window (images of 16 px or less) keeps one cell:
            # padded to the window with -inf. No branch on the size, for exported graphs.
            k = layer.kernel_size
            pads = (0, torch.sym_max(0, k - x.shape[-1]), 0, torch.sym_max(0, k - x.shape[-2]))
            x = F.pad(x, pads, value=float("-inf"))
        return layer(x)
