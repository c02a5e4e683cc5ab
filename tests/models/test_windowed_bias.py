"""Inference builds the relative bias by copying table windows, with the keys' grid reversed."""

from __future__ import annotations

import pytest
import torch
from conftest import randomize_

from mmseg_beit.models.layers.attention import RelativePositionAttention
from mmseg_beit.models.speed import PRESETS
from mmseg_beit.models.utils.relative_position import (
    relative_position_index,
    reverse_grid_tokens,
    table_rows,
    windowed_relative_bias,
)


def _gathered(table: torch.Tensor, grid) -> torch.Tensor:
    n = grid[0] * grid[1] + 1
    return table.t()[:, relative_position_index(grid).view(-1)].view(-1, n, n)


@pytest.mark.parametrize("grid", [(4, 4), (3, 5), (6, 2), (1, 1)])
def test_windowed_bias_equals_gathered_bias_over_reversed_keys(grid):
    table = torch.randn(table_rows(grid), 3)
    gathered = _gathered(table, grid)
    keys = reverse_grid_tokens(torch.arange(gathered.shape[-1]).view(-1, 1)).view(-1)
    got = windowed_relative_bias(table, grid, torch.float32)
    assert torch.equal(got, gathered[:, :, keys])


def test_windowed_bias_rows_aligned_keep_values_and_dtype():
    table = torch.randn(table_rows((3, 5)), 2)
    got = windowed_relative_bias(table, (3, 5), torch.bfloat16, align=8)
    assert got.dtype == torch.bfloat16 and all(s % 8 == 0 for s in got.stride()[:-1])
    expected = windowed_relative_bias(table, (3, 5), torch.float32).to(torch.bfloat16)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("grid", [(4, 4), (5, 6)])  # (5, 6): resampled table
def test_inference_attention_equals_the_training_path(grid):
    attn = randomize_(RelativePositionAttention(32, 4, (4, 4))).eval()
    x = torch.randn(2, grid[0] * grid[1] + 1, 32)
    with torch.no_grad():
        inference = attn(x, grid)
    gathered = attn(x, grid)  # autograd on: the gathered mask, keys in order
    assert gathered.requires_grad
    # The same sums over keys in another order: fp32 rounding only.
    torch.testing.assert_close(inference, gathered.detach(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("key", sorted(k for k in PRESETS if k[0] == "cpu"))
def test_cpu_presets_keep_no_attention_masks_between_calls(key):
    # A mask per block and grid (BEiT-L at 640: 3.9 GB) for a few per cent of a forward.
    assert PRESETS[key].cache_grids == 0
