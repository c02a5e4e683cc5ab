"""WinogradConv2d: the numbers of a direct convolution, used only where it is faster."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import uper_head

from mmseg_beit.models import WinogradConv2d
from mmseg_beit.models.layers import winograd


@pytest.mark.parametrize(
    "channels, size", [((8, 5), (7, 9)), ((130, 140), (16, 15)), ((3, 4), (1, 2))]
)
def test_winograd_equals_direct_convolution(channels, size):
    c_in, c_out = channels
    x = torch.randn(2, c_in, *size)
    weight = torch.randn(c_out, c_in, 3, 3)
    expected = F.conv2d(x, weight, padding=1)
    got = winograd.winograd_conv3x3(x, winograd.winograd_weight(weight))
    torch.testing.assert_close(got, expected, atol=1e-5 * expected.abs().max().item(), rtol=0)


def test_winograd_in_bands_of_one_tile_row_equals_direct_convolution(monkeypatch):
    monkeypatch.setattr(winograd, "_BAND_BYTES", 1)  # every tile row its own band
    x = torch.randn(2, 6, 9, 7)
    weight = torch.randn(5, 6, 3, 3)
    expected = F.conv2d(x, weight, padding=1)
    got = winograd.winograd_conv3x3(x, winograd.winograd_weight(weight))
    torch.testing.assert_close(got, expected, atol=1e-5 * expected.abs().max().item(), rtol=0)


@pytest.fixture()
def spy(monkeypatch):
    calls = []
    real = winograd.winograd_conv3x3
    monkeypatch.setattr(winograd, "winograd_conv3x3", lambda *a: calls.append(1) or real(*a))
    return calls


def test_winograd_runs_for_cpu_fp32_inference(spy):
    conv = WinogradConv2d(128, 128, 3, padding=1, min_pixels=120).eval()
    x = torch.randn(1, 128, 12, 10)
    with torch.no_grad():
        got = conv(x)
    assert len(spy) == 1
    torch.testing.assert_close(
        got, F.conv2d(x, conv.weight, conv.bias, padding=1), atol=1e-4, rtol=1e-5
    )


@pytest.mark.parametrize("mode", ["training", "autograd", "fp16", "small", "few_pixels"])
def test_winograd_falls_back_to_conv2d(spy, mode):
    channels = 64 if mode == "small" else 128
    min_pixels = 121 if mode == "few_pixels" else 1
    conv = WinogradConv2d(channels, channels, 3, padding=1, min_pixels=min_pixels)
    conv.train(mode == "training")
    x = torch.randn(1, channels, 12, 10)
    with (
        torch.set_grad_enabled(mode == "autograd"),
        torch.autocast("cpu", torch.float16, enabled=mode == "fp16"),
    ):
        conv(x)
    assert spy == []


def test_winograd_under_bf16_autocast_errs_at_most_twice_as_much_as_direct_bf16(spy):
    torch.manual_seed(0)
    conv = WinogradConv2d(256, 128, 3, padding=1, min_pixels=1).eval()
    x = torch.randn(1, 256, 24, 20).relu()
    exact = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), padding=1)
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        fast = conv(x)
        direct = F.conv2d(x, conv.weight, conv.bias, padding=1)
    assert len(spy) == 1 and fast.dtype == direct.dtype == torch.bfloat16

    def error(y):
        return ((y.double() - exact).norm() / exact.norm()).item()

    assert error(direct) < 1e-2
    assert error(fast) < 2 * error(direct)


def test_sequence_of_maps_convolves_like_their_concatenation(spy):
    conv = WinogradConv2d(192, 128, 3, padding=1, min_pixels=1).eval()
    parts = [torch.randn(1, c, 13, 11) for c in (128, 32, 32)]
    with torch.no_grad():
        got = conv(parts)
    assert len(spy) == 1
    expected = F.conv2d(torch.cat(parts, 1), conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-5)


def test_uper_head_with_winograd_convs_equals_plain():
    plain = uper_head()
    fast = uper_head(conv_cfg=dict(type="WinogradConv2d", min_pixels=1))
    assert type(fast.fpn_bottleneck.conv) is WinogradConv2d
    fast.load_state_dict(plain.state_dict())
    inputs = [torch.randn(1, 128, s, s) for s in (24, 12, 6, 3)]
    with torch.no_grad():
        torch.testing.assert_close(fast(inputs), plain(inputs), atol=1e-4, rtol=1e-4)


def test_winograd_never_copies_the_whole_input(monkeypatch):
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class LargestNewTensor(TorchDispatchMode):
        def __init__(self, ignore: torch.Tensor) -> None:
            super().__init__()
            self.ignore, self.largest = ignore.untyped_storage().data_ptr(), 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in tree_leaves(out):
                storage = t.untyped_storage() if isinstance(t, torch.Tensor) else None
                if storage is not None and storage.data_ptr() != self.ignore:
                    self.largest = max(self.largest, storage.nbytes())
            return out

    monkeypatch.setattr(winograd, "_BAND_BYTES", 16 * 32 * 64 * 4 * 2)  # two tile rows a band
    x = torch.randn(1, 64, 64, 64)
    weight_u = winograd.winograd_weight(torch.randn(16, 64, 3, 3))
    with LargestNewTensor(x) as sizes:
        winograd.winograd_conv3x3(x, weight_u)
    assert sizes.largest < x.nbytes / 2  # the output, a quarter of x, is the largest


def test_uper_head_fuses_its_levels_without_building_their_concatenation(monkeypatch):
    from torch.utils._python_dispatch import TorchDispatchMode

    head = uper_head(conv_cfg=dict(type="WinogradConv2d", min_pixels=1))
    outs = [torch.randn(1, 128, 24, 24) for _ in range(4)]
    seen = []

    class NewShapes(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor):
                seen.append(tuple(out.shape))
            return out

    with torch.no_grad(), NewShapes():
        fused = head._fuse(*outs)
    assert (1, 512, 24, 24) not in seen  # the 4 x 128 channels are never one tensor
    with torch.no_grad():
        block = head.fpn_bottleneck
        expected = F.conv2d(torch.cat(outs, 1), block.conv.weight, block.conv.bias, padding=1)
        expected = block.activate(block.norm(expected))
    torch.testing.assert_close(fused, expected, atol=1e-4, rtol=1e-4)
