"""Multi-head self-attention with BEiT's relative position bias, on PyTorch's SDPA."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mmseg_beit.models.utils.inference_cache import InferenceCache
from mmseg_beit.models.utils.relative_position import (
    relative_position_index,
    resize_relative_table,
    reverse_grid_tokens,
    table_rows,
    windowed_relative_bias,
)

ATTENTION_KERNELS = ("sdpa", "matmul")


class RelativePositionAttention(nn.Module):
    """Self-attention over ``[cls] + h * w`` tokens with an optional relative position bias.

    The bias table is trained for one token grid; other grids resample it (bilinear) and gather
    it with their own index.

    Args:
        embed_dims: Token width.
        num_heads: Attention heads.
        grid: Token grid the relative table is built for; None for no relative bias (ViT).
        qv_bias: Learnable q and v biases, none on k (BEiT; MMSegmentation's name).
        qkv_bias: One bias on q, k and v (ViT). At most one of the two.
        attn_drop: Dropout on attention probabilities (training only).
        kernel: Inference kernel: 'sdpa' (PyTorch's fused attention, the bias as its mask) or
            'matmul' (:func:`matmul_attention`: plain matrix products, faster on some CPUs in
            bf16). Training always runs SDPA, which does not keep the attention matrix.
    """

    def __init__(
        self,
        embed_dims: int,
        num_heads: int,
        grid: tuple[int, int] | None,
        qv_bias: bool = True,
        qkv_bias: bool = False,
        attn_drop: float = 0.0,
        kernel: str = "sdpa",
    ) -> None:
        super().__init__()
        if kernel not in ATTENTION_KERNELS:
            raise ValueError(f"attention kernel must be one of {ATTENTION_KERNELS}, got {kernel!r}")
        if embed_dims % num_heads:
            raise ValueError(f"embed_dims {embed_dims} is not divisible by num_heads {num_heads}")
        if qv_bias and qkv_bias:
            raise ValueError("qv_bias (BEiT) and qkv_bias (ViT) exclude each other; set one")
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.kernel = kernel
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims, bias=qkv_bias)
        if qv_bias:
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
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

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The index is derived from the grid, never learned: ours always wins, so checkpoints
        # with or without it (or made for another grid) load the same way.
        key = prefix + "relative_position_index"
        if self.grid is not None:
            state_dict[key] = self.relative_position_index
        else:
            state_dict.pop(key, None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def relative_bias(self, grid: tuple[int, int]) -> torch.Tensor:
        """The contiguous (heads, N, N) additive bias for a grid, N = h * w + 1."""
        table = self.relative_position_bias_table
        if not torch.compiler.is_exporting() and grid == self.grid:
            index = self.relative_position_index
        else:  # exported graphs always resample: one graph serves every grid
            table = resize_relative_table(table, self.grid, grid)
            index = relative_position_index(grid, table.device)
        n = grid[0] * grid[1] + 1
        # Gathered head-major, so the bias comes out contiguous: PyTorch's CPU flash kernel runs
        # about 2x slower with a permuted (strided) mask.
        return table.t().contiguous()[:, index.view(-1)].view(-1, n, n)

    def attention_mask(
        self, grid: tuple[int, int], query: torch.Tensor, keys_reversed: bool = False
    ) -> torch.Tensor:
        """The relative bias as an SDPA mask for ``query``: its dtype (GPU kernels require it)
        and, off the CPU, rows aligned to 8 elements (the memory-efficient kernel pads a copy
        of any other mask on every call). ``keys_reversed``: for keys whose grid tokens are in
        reverse order, copied from the table (:func:`windowed_relative_bias`), not gathered."""
        align = 1 if query.device.type == "cpu" else 8
        if not keys_reversed:
            return sdpa_mask(self.relative_bias(grid), query.dtype, align)
        table = resize_relative_table(self.relative_position_bias_table, self.grid, grid)
        return windowed_relative_bias(table, grid, query.dtype, align).unsqueeze(0)

    def forward(
        self, x: torch.Tensor, grid: tuple[int, int], cache: InferenceCache | None = None
    ) -> torch.Tensor:
        """Attends over (B, N, C) tokens laid out as [cls] + grid (row-major).

        ``cache``, given outside autograd, supplies the mask instead of rebuilding it.
        """
        batch, tokens, channels = x.shape
        bias = self.qkv.bias
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.q_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias)
        q, k, v = qkv.view(batch, tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        mask = None
        table = self.relative_position_bias_table
        # Outside autograd and export the mask is copied from table windows, which needs the
        # keys' grid tokens reversed (the sum over keys does not care); training gathers it
        # (cheap gradients) and exported graphs keep one gather for every grid.
        windowed = not torch.is_grad_enabled() and not torch.compiler.is_exporting()
        if table is not None and windowed:
            k, v = reverse_grid_tokens(k), reverse_grid_tokens(v)
        if table is not None and cache is not None:
            key = (grid, q.dtype, q.device, windowed)
            mask = cache.get(self, table, key, lambda: self.attention_mask(grid, q, windowed))
        elif table is not None:
            mask = self.attention_mask(grid, q, windowed)
        if windowed and self.kernel == "matmul":
            x = matmul_attention(q, k, v, mask)
        else:
            drop = self.attn_drop if self.training else 0.0
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        # An explicit copy: exporters decompose SDPA into another memory layout than eager's.
        x = x.transpose(1, 2).clone(memory_format=torch.contiguous_format)
        return self.proj(x.view(batch, tokens, channels))


def matmul_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d) + mask) v`` as batched matrix products, image by image.

    The scores are materialised (heads x N x N per image, in the products' dtype: bf16 under
    bf16 autocast, as MMSegmentation's and transformers' eager attention keep them), which lets
    the products run on the CPU's bf16 matrix instructions; the bias is added by the first
    product (``baddbmm``), not in a pass of its own.

    Args:
        q, k, v: (B, heads, N, head_dims).
        mask: (1, heads, N, N) additive bias, or None.
    """
    scale = q.shape[-1] ** -0.5
    outputs = []
    for qi, ki, vi in zip(q, k, v):
        if mask is None:
            scores = torch.bmm(qi, ki.transpose(1, 2)).mul_(scale)
        else:
            scores = torch.baddbmm(mask[0], qi, ki.transpose(1, 2), alpha=scale)
        outputs.append(torch.bmm(scores.softmax(-1), vi))
    return torch.stack(outputs)


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
