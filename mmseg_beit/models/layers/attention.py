"""Multi-head self-attention with BEiT's relative position bias, on PyTorch's SDPA."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from mmseg_beit.models.utils.relative_position import (
    relative_position_index,
    resize_relative_table,
    table_rows,
)

QKVBias = Literal["qv", "qkv", "none"]
_MAX_CACHED_GRIDS = 8


class RelativePositionAttention(nn.Module):
    """Self-attention over ``[cls] + h * w`` tokens with an optional relative position bias.

    The bias table is trained for one token grid; other grids resample it (bilinear) and gather
    it with their own index. Indices are cached per grid; outside autograd the gathered bias is
    cached too, keyed by the table's version so that a weight update invalidates it.

    Args:
        embed_dims: Token width.
        num_heads: Attention heads.
        grid: Token grid the relative table is built for; None for no relative bias (ViT).
        qkv_bias: 'qv' (BEiT: q and v biases, none on k), 'qkv' (ViT) or 'none'.
        attn_drop: Dropout on attention probabilities (training only).
        proj_drop: Dropout after the output projection.
        cache_bias: Keep the gathered bias between inference calls (one per grid; heads x N x N
            in the query's dtype: 82 MB for BEiT-L at 640 in bf16). Faster, but memory.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        grid: tuple[int, int] | None,
        qkv_bias: QKVBias = "qv",
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        cache_bias: bool = True,
    ) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f"embed_dims {embed_dims} is not divisible by num_heads {num_heads}")
        if qkv_bias not in ("qv", "qkv", "none"):
            raise ValueError(f"qkv_bias must be 'qv', 'qkv' or 'none', got {qkv_bias!r}")
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.cache_bias = cache_bias
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims, bias=qkv_bias == "qkv")
        if qkv_bias == "qv":
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
            self.register_buffer("k_bias", torch.zeros(embed_dims), persistent=False)
        else:
            self.q_bias = self.v_bias = None
        self.grid = tuple(grid) if grid is not None else None
        if self.grid is not None:
            self.relative_position_bias_table = nn.Parameter(
                torch.zeros(table_rows(self.grid), num_heads)
            )
            self.register_buffer("relative_position_index", relative_position_index(self.grid))
        else:
            self.relative_position_bias_table = None
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self._index_cache: dict = {}
        self._bias_cache: dict = {}
        self._qkv_bias_cache: tuple | None = None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The index is derived from the grid, never learned: ours always wins, so checkpoints
        # with or without it (or made for another grid) load the same way.
        key = prefix + "relative_position_index"
        if self.grid is not None:
            state_dict[key] = self.relative_position_index
        else:
            state_dict.pop(key, None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _index(self, grid: tuple[int, int], device: torch.device) -> torch.Tensor:
        if grid == self.grid:
            return self.relative_position_index
        key = (grid, device)
        if key not in self._index_cache:
            if len(self._index_cache) >= _MAX_CACHED_GRIDS:
                self._index_cache.clear()
            self._index_cache[key] = relative_position_index(grid).to(device)
        return self._index_cache[key]

    def relative_bias(self, grid: tuple[int, int]) -> torch.Tensor | None:
        """The contiguous (heads, N, N) additive bias for a grid, N = h * w + 1 (None: no table)."""
        table = self.relative_position_bias_table
        if table is None:
            return None
        if grid != self.grid:
            table = resize_relative_table(table, self.grid, grid)
        n = grid[0] * grid[1] + 1
        # Gathered head-major, so the bias comes out contiguous: PyTorch's CPU flash kernel runs
        # about 2x slower with a permuted (strided) mask.
        index = self._index(grid, table.device).view(-1)
        return table.t().contiguous()[:, index].view(-1, n, n)

    def attention_mask(self, grid: tuple[int, int], query: torch.Tensor) -> torch.Tensor | None:
        """The relative bias as an SDPA mask for this query; cached outside autograd.

        In the query's dtype (GPU kernels require it). Off the CPU, rows are aligned to 8
        elements: the memory-efficient kernel pads a copy of any other mask on every call.
        """
        table = self.relative_position_bias_table
        if table is None:
            return None
        cacheable = self.cache_bias and not (torch.is_grad_enabled() and table.requires_grad)
        key = (grid, table.device, table.dtype, table._version, query.dtype)
        if cacheable and key in self._bias_cache:
            return self._bias_cache[key]
        align = 1 if query.device.type == "cpu" else 8
        mask = sdpa_mask(self.relative_bias(grid), query.dtype, align)
        if cacheable:
            self._bias_cache = {key: mask}
        return mask

    def qkv_bias(self) -> torch.Tensor | None:
        """The 3C bias of the qkv projection; outside autograd built once per weight version."""
        if self.q_bias is None:
            return self.qkv.bias
        if torch.is_grad_enabled() and (self.q_bias.requires_grad or self.v_bias.requires_grad):
            return torch.cat((self.q_bias, self.k_bias, self.v_bias))
        key = (self.q_bias._version, self.v_bias._version, self.q_bias.device, self.q_bias.dtype)
        if self._qkv_bias_cache is None or self._qkv_bias_cache[0] != key:
            self._qkv_bias_cache = (key, torch.cat((self.q_bias, self.k_bias, self.v_bias)))
        return self._qkv_bias_cache[1]

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Attends over (B, N, C) tokens laid out as [cls] + grid (row-major)."""
        batch, tokens, channels = x.shape
        qkv = F.linear(x, self.qkv.weight, self.qkv_bias())
        q, k, v = qkv.view(batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        mask = self.attention_mask(grid, q)
        drop = self.attn_drop if self.training else 0.0
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        x = x.transpose(1, 2).reshape(batch, tokens, channels)
        return self.proj_drop(self.proj(x))


def sdpa_mask(bias: torch.Tensor, dtype: torch.dtype, align: int = 1) -> torch.Tensor:
    """A (H, N, N) bias as a (1, H, N, N) SDPA mask whose rows start every ``align`` elements.

    4-D because PyTorch's fused CPU kernel rejects a 3-D mask (and falls back to the ~4x slower
    math path).
    """
    bias = bias.to(dtype)
    n = bias.shape[-1]
    if n % align:
        bias = F.pad(bias, (0, align - n % align))[..., :n]
    return bias.unsqueeze(0)
