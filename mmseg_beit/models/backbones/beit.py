"""BEiT backbone (and plain ViT in the same module), any input size, MMSegmentation key layout."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import kaiming_init, trunc_normal_
from torch import nn
from torch.utils.checkpoint import checkpoint

from mmseg_beit.models.layers.patch_embed import PatchEmbed
from mmseg_beit.models.layers.transformer_block import TransformerBlock
from mmseg_beit.models.utils.abs_position import resize_abs_pos_embed
from mmseg_beit.models.utils.inference_cache import InferenceCache
from mmseg_beit.registry import MODELS, WEIGHT_INITIALIZERS


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"img_size must be an int or (height, width), got {size!r}")
    return int(size[0]), int(size[1])


@MODELS.register_module()
class BEiT(BaseModule):
    """BEiT / ViT encoder returning stride-16 NCHW features of chosen blocks.

    Inputs of any size work: sides that are not multiples of ``patch_size`` are zero-padded at the
    bottom and right (:class:`PatchEmbed`), and position information (relative
    tables, absolute embeddings) is resampled from the grid of ``img_size`` to the actual token
    grid. For pixel-exact geometry on such inputs let the data preprocessor pad instead
    (``test_cfg=dict(size_divisor=16)``), which crops the padding from the logits afterwards.

    Args:
        img_size: Training crop; fixes the grid of relative tables / absolute embeddings.
        patch_size: Patch side.
        in_channels: Image channels.
        embed_dims: Token width.
        num_layers: Transformer blocks.
        num_heads: Attention heads.
        mlp_ratio: FFN hidden width over ``embed_dims``.
        out_indices: 0-based blocks whose outputs are returned, in this order (negative counts
            from the end).
        qv_bias: Learnable q and v biases (BEiT).
        qkv_bias: One bias on q, k and v (ViT); excludes ``qv_bias``.
        rel_pos_bias: Per-block relative position bias tables (BEiT).
        abs_pos_embed: Absolute position embeddings with a cls slot (ViT).
        init_values: Layer-scale initial value; None disables layer scale (ViT).
        attn_drop_rate: Dropout on attention probabilities.
        drop_path_rate: Stochastic depth, linearly increasing to this rate over blocks.
        norm_cfg: Norm config of the blocks.
        act_cfg: FFN activation.
        norm_eval: Keep normalisation layers in eval mode while training. LayerNorm has no
            running statistics, so this only matters for other norm types in ``norm_cfg``.
        with_cp: Activation checkpointing of every block while training (less memory, about
            20% more time per step).
        attn_kernel: Attention kernel of inference: 'sdpa' (PyTorch's fused kernel) or 'matmul'
            (plain matrix products); training always runs SDPA. Set by the speed preset.
        cache_grids: Keep the attention masks of this many token grids between inference calls
            (:class:`InferenceCache`; BEiT-B at 512 in fp32: 605 MB a grid); 0 rebuilds them
            on every call.
        pretrained: MMSegmentation's deprecated spelling of
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.
        init_cfg: mmengine init config, e.g. ``dict(type='Pretrained', checkpoint=PATH)``:
            official, mmpretrain, Hugging Face or mmseg weights, tables resized to ``img_size``.
    """

    def __init__(
        self,
        img_size: int | Sequence[int] = 224,
        patch_size: int = 16,
        in_channels: int = 3,
        embed_dims: int = 768,
        num_layers: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        out_indices: int | Sequence[int] = -1,
        qv_bias: bool = True,
        qkv_bias: bool = False,
        rel_pos_bias: bool = True,
        abs_pos_embed: bool = False,
        init_values: float | None = 0.1,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        attn_kernel: str = "sdpa",
        cache_grids: int = 0,
        pretrained: str | os.PathLike | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        if isinstance(pretrained, os.PathLike):
            pretrained = os.fspath(pretrained)
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(  # mmseg's check, at construction rather than at init_weights
                f"BEiT: pretrained must be a checkpoint path (str) or None, got "
                f"{type(pretrained).__name__} {pretrained!r}"
            )
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError("set init_cfg or the deprecated pretrained, not both")
            print_log(
                "BEiT: pretrained= is deprecated, use init_cfg=dict(type='Pretrained', "
                "checkpoint=...)",
                "current",
                level=30,
            )
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)
        norm_cfg = norm_cfg or dict(type="LN", eps=1e-6)
        act_cfg = act_cfg or dict(type="GELU")
        self.img_size = _pair(img_size)
        self.patch_size = patch_size
        self.grid = (self.img_size[0] // patch_size, self.img_size[1] // patch_size)
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.out_indices = self._check_out_indices(out_indices, num_layers)
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.bias_cache = InferenceCache(cache_grids) if cache_grids and rel_pos_bias else None

        self.patch_embed = PatchEmbed(in_channels, embed_dims, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        num_tokens = 1 + self.grid[0] * self.grid[1]
        self.pos_embed = (
            nn.Parameter(torch.zeros(1, num_tokens, embed_dims)) if abs_pos_embed else None
        )
        rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.layers = nn.ModuleList(
            TransformerBlock(
                embed_dims=embed_dims,
                num_heads=num_heads,
                mlp_ratio=mlp_ratio,
                grid=self.grid if rel_pos_bias else None,
                qv_bias=qv_bias,
                qkv_bias=qkv_bias,
                init_values=init_values,
                drop_path=rate,
                attn_drop=attn_drop_rate,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                attn_kernel=attn_kernel,
            )
            for rate in rates
        )

    @staticmethod
    def _check_out_indices(out_indices: int | Sequence[int], num_layers: int) -> tuple[int, ...]:
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if not indices:
            raise ValueError("out_indices is empty")
        checked = []
        for index in indices:
            if not isinstance(index, int) or not -num_layers <= index < num_layers:
                raise ValueError(
                    f"out_indices entry {index!r} is outside the {num_layers} blocks "
                    f"(valid: {-num_layers}..{num_layers - 1})"
                )
            checked.append(index % num_layers)
        if len(set(checked)) != len(checked):
            raise ValueError(f"out_indices {indices} name a block twice")
        return tuple(checked)

    def train(self, mode: bool = True) -> BEiT:
        """Sets train mode (dropping cached masks); with ``norm_eval``, norms stay in eval."""
        super().train(mode)
        if mode and self.bias_cache is not None:
            self.bias_cache.clear()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, (nn.LayerNorm, nn.modules.batchnorm._NormBase)):
                    module.eval()
        return self

    def init_weights(self) -> None:
        """ViT initialisation from scratch, or loading of ``init_cfg``'s pretrained weights.

        ``Pretrained`` goes through the checkpoint layer's ``BEiTPretrained`` initialiser, which
        reads every supported layout and resizes position tables to this model's grid.
        """
        if isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained":
            args = {k: v for k, v in self.init_cfg.items() if k != "type"}
            WEIGHT_INITIALIZERS.get("BEiTPretrained")(**args)(self)
            return
        if self.init_cfg is not None:
            super().init_weights()
            return
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv2d):
                kaiming_init(module, mode="fan_in", bias=0.0)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        trunc_normal_(self.cls_token, std=0.02)
        if self.pos_embed is not None:
            trunc_normal_(self.pos_embed, std=0.02)
        for layer in self.layers:
            if layer.attn.relative_position_bias_table is not None:
                trunc_normal_(layer.attn.relative_position_bias_table, std=0.02)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Encodes (B, C, H, W) images into one (B, embed_dims, ceil(H/16), ceil(W/16)) map per
        entry of ``out_indices``."""
        x, grid = self.patch_embed(inputs)
        batch = x.shape[0]
        x = torch.cat([self.cls_token.expand(batch, -1, -1), x], dim=1)
        if self.pos_embed is not None:
            x = x + resize_abs_pos_embed(self.pos_embed, self.grid, grid)
        inference = not self.training and not torch.is_grad_enabled()
        cache = self.bias_cache if inference and not torch.compiler.is_exporting() else None
        wanted = set(self.out_indices)
        features = {}
        for index, layer in enumerate(self.layers[: max(wanted) + 1]):
            if self.with_cp and self.training and x.requires_grad:
                x = checkpoint(layer, x, grid, use_reentrant=False)
            else:
                x = layer(x, grid, cache)
            if index in wanted:
                tokens = x[:, 1:]
                features[index] = (
                    tokens.transpose(1, 2).reshape(batch, self.embed_dims, *grid).contiguous()
                )
        return tuple(features[index] for index in self.out_indices)
