"""The 'matmul' inference kernel of the attention layer: SDPA's numbers as plain products."""

from __future__ import annotations

import pytest
import torch
from conftest import randomize_

from mmseg_beit.models.layers import attention
from mmseg_beit.models.layers.attention import RelativePositionAttention


def _pair(grid=(4, 4), **kwargs):
    sdpa = randomize_(RelativePositionAttention(32, 4, grid, **kwargs)).eval()
    matmul = RelativePositionAttention(32, 4, grid, kernel="matmul", **kwargs).eval()
    matmul.load_state_dict(sdpa.state_dict())
    return sdpa, matmul


@pytest.mark.parametrize("grid", [(4, 4), (5, 3)])  # (5, 3): resampled table
def test_matmul_kernel_equals_sdpa_in_inference(grid):
    sdpa, matmul = _pair()
    x = torch.randn(3, grid[0] * grid[1] + 1, 32)
    with torch.no_grad():
        torch.testing.assert_close(matmul(x, grid), sdpa(x, grid), atol=1e-6, rtol=1e-5)


def test_matmul_kernel_equals_sdpa_without_relative_bias():
    sdpa, matmul = _pair(grid=None, qv_bias=False, qkv_bias=True)  # ViT
    x = torch.randn(2, 17, 32)
    with torch.no_grad():
        torch.testing.assert_close(matmul(x, (4, 4)), sdpa(x, (4, 4)), atol=1e-6, rtol=1e-5)


def test_matmul_kernel_under_bf16_autocast_stays_close_to_fp32():
    sdpa, matmul = _pair()
    x = torch.randn(1, 17, 32)
    with torch.no_grad():
        exact = sdpa(x, (4, 4))
        with torch.autocast("cpu", torch.bfloat16):
            fast = matmul(x, (4, 4))
    assert fast.dtype == torch.bfloat16
    torch.testing.assert_close(fast.float(), exact, atol=3e-2, rtol=3e-2)


def test_training_runs_sdpa_whatever_the_kernel(monkeypatch):
    calls = []
    monkeypatch.setattr(attention, "matmul_attention", lambda *a: calls.append(1))
    _, matmul = _pair()
    out = matmul.train()(torch.randn(1, 17, 32), (4, 4))
    out.sum().backward()
    assert calls == [] and matmul.qkv.weight.grad is not None


def test_unknown_kernel_is_refused_naming_it():
    with pytest.raises(ValueError, match="'flash2'"):
        RelativePositionAttention(32, 4, (4, 4), kernel="flash2")
