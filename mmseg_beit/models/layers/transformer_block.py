"""Pre-norm transformer block with optional layer scale (BEiT) or none (ViT)."""

from __future__ import annotations

import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.drop import DropPath
from mmcv.cnn.bricks.transformer import FFN
from torch import nn

from mmseg_beit.models.layers.attention import RelativePositionAttention
from mmseg_beit.models.utils.inference_cache import InferenceCache


class TransformerBlock(nn.Module):
    """``x + gamma_1 * attn(ln1(x))`` then ``x + gamma_2 * ffn(ln2(x))``, with drop path.

    Parameter names follow MMSegmentation's BEiT layer (``ln1``, ``attn``, ``ln2``,
    ``ffn.layers.0.0``, ``ffn.layers.1``, ``gamma_1``, ``gamma_2``) so its checkpoints load.

    Args:
        embed_dims: Token width.
        num_heads: Attention heads.
        mlp_ratio: FFN hidden width over ``embed_dims``.
        grid: Token grid of the relative position table, None for no relative bias.
        qv_bias: q and v biases (BEiT), see :class:`RelativePositionAttention`.
        qkv_bias: q, k and v bias (ViT).
        init_values: Initial layer-scale value; None disables layer scale.
        drop_path: Stochastic depth rate of this block.
        attn_drop: Dropout on attention probabilities.
        norm_cfg: Normalisation config (mmcv), usually ``dict(type='LN', eps=1e-6)``.
        act_cfg: FFN activation config (mmcv).
        attn_kernel: Inference attention kernel, 'sdpa' or 'matmul' (see the attention layer).
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        mlp_ratio: float,
        grid: tuple[int, int] | None,
        qv_bias: bool,
        qkv_bias: bool,
        init_values: float | None,
        drop_path: float,
        attn_drop: float,
        norm_cfg: dict,
        act_cfg: dict,
        attn_kernel: str = "sdpa",
    ) -> None:
        super().__init__()
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = RelativePositionAttention(
            embed_dims, num_heads, grid, qv_bias, qkv_bias, attn_drop, attn_kernel
        )
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=int(embed_dims * mlp_ratio),
            num_fcs=2,
            act_cfg=act_cfg,
            add_identity=False,
        )
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        if init_values is not None:
            self.gamma_1 = nn.Parameter(torch.full((embed_dims,), float(init_values)))
            self.gamma_2 = nn.Parameter(torch.full((embed_dims,), float(init_values)))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(
        self, x: torch.Tensor, grid: tuple[int, int], cache: InferenceCache | None = None
    ) -> torch.Tensor:
        """Transforms (B, 1 + h * w, C) tokens (``cache``: see the attention layer)."""
        y = self.attn(self.ln1(x), grid, cache)
        x = x + self.drop_path(y if self.gamma_1 is None else self.gamma_1 * y)
        y = self.ffn(self.ln2(x))
        return x + self.drop_path(y if self.gamma_2 is None else self.gamma_2 * y)
