"""3x3 convolution by Winograd's F(2x2, 3x3): 4 multiplications per output instead of 9.

On CPU the large 3x3 convolutions of UPerHead run near the processor's fp32 peak, so the only
way to make them faster without changing numbers beyond rounding is to do fewer multiplications.
Each 2x2 output tile comes from a 4x4 input tile: ``Y = A^T [(G g G^T) * (B^T d B)] A``. The
element-wise product over 16 positions becomes 16 matrix products over channels (``bmm``). The
relative error against direct convolution is about 1e-6 in fp32; in bf16 it is about 1.7x that
of a direct bf16 convolution (5e-3 against 3e-3, one UPerHead bottleneck layer), for about 0.7x
the time (``tests/models/test_winograd.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

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
    """(O, C, 3, 3) kernels -> (16, C, O) transformed kernels ``G g G^T``, in their dtype.

    One product with the (16, 9) transform; the result is a transposed view of it (no copy:
    ``bmm`` takes it as it is; a kept copy is made contiguous, which ``bmm`` runs ~8% faster in
    fp32).
    """
    out_channels, in_channels = weight.shape[:2]
    flat = weight.reshape(out_channels * in_channels, 9)
    u = (_KERNEL.to(weight) @ flat.t()).view(16, out_channels, in_channels)
    return u.transpose(1, 2)


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


def _nhwc_band(
    parts: Sequence[torch.Tensor], first: int, rows: int, cols: int, dtype: torch.dtype
) -> torch.Tensor:
    """Input rows for tile rows ``first .. first + rows``: NHWC, zero-padded as ``padding=1``
    pads (one pixel above and left, zeros past the bottom and right), copied band by band
    so that no padded copy of the whole input is made. The channels of ``parts`` follow each
    other, so a concatenated input is never built either."""
    n, _, h, w = parts[0].shape
    channels = sum(part.shape[1] for part in parts)
    band = parts[0].new_zeros(n, 2 * rows + 2, 2 * cols + 2, channels, dtype=dtype)
    top = 2 * first - 1  # input row of the band's first row
    start, stop = max(top, 0), min(top + 2 * rows + 2, h)
    offset = 0
    for part in parts:
        c = part.shape[1]
        band[:, start - top : stop - top, 1 : w + 1, offset : offset + c] = part[
            :, :, start:stop
        ].permute(0, 2, 3, 1)
        offset += c
    return band


def winograd_conv3x3(
    x: torch.Tensor | Sequence[torch.Tensor], weight_u: torch.Tensor
) -> torch.Tensor:
    """``conv2d(x, w, padding=1)`` (stride 1, no bias) given ``weight_u = winograd_weight(w)``,
    in ``weight_u``'s dtype. ``x`` may be a sequence of maps of one size, standing for their
    concatenation over channels.

    Works through bands of tile rows whose transformed tiles take at most ``_BAND_BYTES``, so
    the extra memory stays bounded whatever the input size.
    """
    parts = [x] if isinstance(x, torch.Tensor) else list(x)
    n, _, h, w = parts[0].shape
    c, dtype = weight_u.shape[1], weight_u.dtype
    tiles_h, tiles_w = (h + 1) // 2, (w + 1) // 2
    out = weight_u.new_empty(n, weight_u.shape[2], 2 * tiles_h, 2 * tiles_w)
    transform = _OUTPUT.to(weight_u)
    step = max(1, _BAND_BYTES // (16 * n * tiles_w * c * weight_u.element_size()))
    for start in range(0, tiles_h, step):
        rows = min(step, tiles_h - start)
        band = _nhwc_band(parts, start, rows, tiles_w, dtype)
        products = torch.bmm(_input_tiles(band, rows, tiles_w), weight_u)  # (16, P, O)
        y = (transform @ products.view(16, -1)).view(2, 2, n, rows, tiles_w, -1)
        y = y.permute(2, 5, 3, 0, 4, 1).reshape(n, -1, 2 * rows, 2 * tiles_w)
        out[:, :, 2 * start : 2 * (start + rows)] = y
    return out[:, :, :h, :w]


@MODELS.register_module()
class WinogradConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and keys) using Winograd where it is faster.

    That is CPU inference (eval mode, no autograd) in fp32 or under bf16 autocast (products in
    bf16, like autocast's direct convolution) of 3x3, stride 1, padding 1, undilated, ungrouped
    convolutions with at least ``min_channels`` in and out, on inputs of at least
    ``min_pixels`` (on small maps the kernel transform costs more than it saves). Everywhere
    else, and always on GPUs (cuDNN chooses its own algorithms), it is plain ``conv2d``. The
    speed preset selects it (``conv_cfg=dict(type='mmseg_beit.WinogradConv2d')``).

    Args:
        min_pixels: Smallest ``H * W`` of an input run with Winograd.
        cache_kernels: Keep the transformed kernels between calls in an
            :class:`InferenceCache` (with the weights they are checked against: 2.8x the
            layer's weights in fp32, 1.4x in bf16) instead of transforming them on every call.
    """

    min_channels = 128
    accepts_parts = True  # forward takes a sequence of maps for their concatenation

    def __init__(
        self, *args, min_pixels: int = 96 * 96, cache_kernels: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.min_pixels = min_pixels
        self.kernel_cache = InferenceCache() if cache_kernels else None

    def train(self, mode: bool = True) -> WinogradConv2d:
        """Sets train mode; training drops the kept kernels."""
        if mode and self.kernel_cache is not None:
            self.kernel_cache.clear()
        return super().train(mode)

    def _eligible(self, x: torch.Tensor) -> bool:
        return (
            not self.training
            and not torch.compiler.is_exporting()
            and x.device.type == "cpu"
            and _compute_dtype(x) in (torch.float32, torch.bfloat16)
            and not torch.is_grad_enabled()
            and self.kernel_size == (3, 3)
            and self.stride == (1, 1)
            and self.padding == (1, 1)
            and self.dilation == (1, 1)
            and self.groups == 1
            and self.padding_mode == "zeros"
            and min(self.in_channels, self.out_channels) >= self.min_channels
            and x.shape[-2] * x.shape[-1] >= self.min_pixels
        )

    def forward(self, x: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """The convolution of ``x``, or of the channel concatenation of a sequence of maps of
        one size (which the Winograd path never builds)."""
        parts = [x] if isinstance(x, torch.Tensor) else list(x)
        if not self._eligible(parts[0]):
            return super().forward(parts[0] if len(parts) == 1 else torch.cat(parts, dim=1))
        # Transformed for every call, from the weights as autocast would use them: a fraction
        # of the convolution's time, where a cache would hold 1.4x (bf16) to 2.8x (fp32) the
        # layer's weights between calls.
        dtype = _compute_dtype(parts[0])
        weight = self.weight.to(dtype)  # as autocast's direct convolution would use it
        if self.kernel_cache is None:
            weight_u = winograd_weight(weight)
        else:
            weight_u = self.kernel_cache.get(
                self, weight, dtype, lambda: winograd_weight(weight).contiguous()
            )
        out = winograd_conv3x3(parts, weight_u)
        return out if self.bias is None else out + self.bias.to(dtype).view(1, -1, 1, 1)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a CPU convolution of ``x`` computes in: autocast's, else the input's."""
    return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
