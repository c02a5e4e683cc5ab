"""3x3 convolution by Winograd's F(2x2, 3x3): 4 multiplications per output instead of 9.

On CPU the large 3x3 convolutions of UPerHead run near the processor's fp32 peak, so the only
way to make them faster without changing numbers beyond rounding is to do fewer multiplications.
Each 2x2 output tile comes from a 4x4 input tile: ``Y = A^T [(G g G^T) * (B^T d B)] A``. The
element-wise product over 16 positions becomes 16 matrix products over channels (``bmm``). The
relative error against direct convolution is about 1e-6 in fp32 (``tests/test_speed_switches.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from mmseg_beit.models.utils.inference_cache import InferenceCache
from mmseg_beit.registry import MODELS

_G = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
_KERNEL = torch.kron(_G, _G)  # (16, 9): the 16 values of G g G^T from the 9 of g
_AT = torch.tensor([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]])
_OUTPUT = torch.kron(_AT, _AT)  # (4, 16): 2x2 outputs from the 16 products of one tile
_BAND_BYTES = 32 * 2**20  # transformed input tiles per band of tile rows


def winograd_weight(weight: torch.Tensor) -> torch.Tensor:
    """(O, C, 3, 3) kernels -> (16, C, O) transformed kernels ``G g G^T``."""
    out_channels, in_channels = weight.shape[:2]
    u = _KERNEL.to(weight) @ weight.reshape(out_channels * in_channels, 9).t()
    return u.view(16, out_channels, in_channels).transpose(1, 2).contiguous()


def _input_tiles(band: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``B^T d B`` of every 4x4 tile of an NHWC band, computed from strided views (no gather)."""
    n, _, _, c = band.shape

    def row(k: int) -> torch.Tensor:
        return band[:, k : k + 2 * rows : 2]

    out = band.new_empty(4, 4, n, rows, cols, c)
    for i, r in enumerate((row(0) - row(2), row(1) + row(2), row(2) - row(1), row(1) - row(3))):

        def col(k: int, r: torch.Tensor = r) -> torch.Tensor:
            return r[:, :, k : k + 2 * cols : 2]

        torch.sub(col(0), col(2), out=out[i, 0])
        torch.add(col(1), col(2), out=out[i, 1])
        torch.sub(col(2), col(1), out=out[i, 2])
        torch.sub(col(1), col(3), out=out[i, 3])
    return out.view(16, n * rows * cols, c)


def _nhwc_band(x: torch.Tensor, first: int, rows: int, cols: int) -> torch.Tensor:
    """Input rows for tile rows ``first .. first + rows``: NHWC, zero-padded as ``padding=1``
    pads (one pixel above and left, zeros past the bottom and right), copied band by band
    so that no padded copy of the whole input is made."""
    n, c, h, w = x.shape
    band = x.new_zeros(n, 2 * rows + 2, 2 * cols + 2, c)
    top = 2 * first - 1  # input row of the band's first row
    start, stop = max(top, 0), min(top + 2 * rows + 2, h)
    band[:, start - top : stop - top, 1 : w + 1] = x[:, :, start:stop].permute(0, 2, 3, 1)
    return band


def winograd_conv3x3(x: torch.Tensor, weight_u: torch.Tensor) -> torch.Tensor:
    """``conv2d(x, w, padding=1)`` (stride 1, no bias) given ``weight_u = winograd_weight(w)``.

    Works through bands of tile rows whose transformed tiles take at most ``_BAND_BYTES``, so
    the extra memory stays bounded whatever the input size.
    """
    n, c, h, w = x.shape
    tiles_h, tiles_w = (h + 1) // 2, (w + 1) // 2
    out = x.new_empty(n, weight_u.shape[2], 2 * tiles_h, 2 * tiles_w)
    transform = _OUTPUT.to(x)
    step = max(1, _BAND_BYTES // (16 * n * tiles_w * c * x.element_size()))
    for start in range(0, tiles_h, step):
        rows = min(step, tiles_h - start)
        band = _nhwc_band(x, start, rows, tiles_w)
        products = torch.bmm(_input_tiles(band, rows, tiles_w), weight_u)  # (16, P, O)
        y = (transform @ products.view(16, -1)).view(2, 2, n, rows, tiles_w, -1)
        y = y.permute(2, 5, 3, 0, 4, 1).reshape(n, -1, 2 * rows, 2 * tiles_w)
        out[:, :, 2 * start : 2 * (start + rows)] = y
    return out[:, :, :h, :w]


@MODELS.register_module()
class WinogradConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and keys) using Winograd where it is faster.

    That is CPU fp32 inference (eval mode, no autograd, no autocast) of 3x3, stride 1, padding
    1, undilated, ungrouped convolutions with at least ``min_channels`` in and out, on inputs
    of at least ``min_pixels``. Everywhere else, and always on GPUs (cuDNN chooses its own
    algorithms), it is plain ``conv2d``. The speed preset selects it
    (``conv_cfg=dict(type='mmseg_beit.WinogradConv2d')``); the transformed kernels are kept in
    an :class:`InferenceCache` (2.8x the layer's weights with the copy they are checked
    against), which is why small inputs, where Winograd saves little time, do not use it:
    UPerHead's pyramid-pooling bottleneck at 1/32 of the image holds the largest kernels.

    Args:
        min_pixels: Smallest ``H * W`` of an input run with Winograd.
    """

    min_channels = 128

    def __init__(self, *args, min_pixels: int = 96 * 96, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.min_pixels = min_pixels
        self.kernel_cache = InferenceCache()

    def train(self, mode: bool = True) -> WinogradConv2d:
        """Sets train mode; training drops the transformed kernels."""
        if mode:
            self.kernel_cache.clear()
        return super().train(mode)

    def _eligible(self, x: torch.Tensor) -> bool:
        return (
            not self.training
            and not torch.compiler.is_exporting()
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and not torch.is_grad_enabled()
            and not torch.is_autocast_enabled("cpu")
            and self.kernel_size == (3, 3)
            and self.stride == (1, 1)
            and self.padding == (1, 1)
            and self.dilation == (1, 1)
            and self.groups == 1
            and self.padding_mode == "zeros"
            and min(self.in_channels, self.out_channels) >= self.min_channels
            and x.shape[-2] * x.shape[-1] >= self.min_pixels
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._eligible(x):
            return super().forward(x)
        # Transforming the kernels can cost more than a low-resolution convolution: kept.
        weight_u = self.kernel_cache.get(
            self, self.weight, x.device, lambda: winograd_weight(self.weight)
        )
        out = winograd_conv3x3(x, weight_u)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)
