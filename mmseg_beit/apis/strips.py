"""Per-pixel classes at an image's original size, a strip of rows at a time.

Resizing every view's logits to the original size holds classes x height x width floats several
times over (8.6 GB for a 3000 x 2250 image and 150 classes). Here the views' logits stay at the
size the test pipeline gave them; the original-size rows are resized, turned into probabilities,
averaged over the views and reduced to one class per pixel one strip at a time. Small results
take the plain path (:func:`~mmseg_beit.apis.runtime.full_size_probs`), unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

from mmseg_beit.apis.runtime import WindowFn, WindowSettings, full_size_probs, view_logits

FULL_SIZE_BYTES = 256 * 2**20  # one (C, H, W) float32 result up to this size: the plain path
STRIP_BYTES = 16 * 2**20  # one strip's (C, rows, W) float32 scores


def _positions(out_size: int, in_size: int, align_corners: bool, device) -> tuple:
    """Source rows (or columns) and weights of bilinear resizing, as PyTorch computes them."""
    index = torch.arange(out_size, dtype=torch.float32, device=device)
    if align_corners:
        scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        source = torch.tensor(scale, dtype=torch.float32, device=device) * index
    else:
        scale = torch.tensor(in_size, dtype=torch.float32, device=device) / out_size
        # scale * (i + 0.5) - 0.5 with addcmul: fused where PyTorch's own kernels fuse it
        source = torch.addcmul(torch.full_like(index, -0.5), index + 0.5, scale).clamp(min=0)
    low = source.floor().long().clamp(max=in_size - 1)
    weight = (source - low).clamp(0, 1)
    return low, (low + 1).clamp(max=in_size - 1), 1 - weight, weight


def resize_rows(
    logits: torch.Tensor, size: tuple[int, int], start: int, stop: int, align_corners: bool
) -> torch.Tensor:
    """Rows ``start:stop`` of the bilinear resize of (C, h, w) ``logits`` to ``size``: those of
    ``F.interpolate(logits[None], size)[0]``, bit for bit on CPU, without the other rows.

    PyTorch's kernel computes ``a * wa + b * wb`` as a fused multiply-add on ``b * wb`` (where
    the CPU has one); ``addcmul`` does the same, across the columns, then the rows.
    """
    device = logits.device
    top, bottom, w_top, w_bottom = (
        t[start:stop] for t in _positions(size[0], logits.shape[1], align_corners, device)
    )
    left, right, w_left, w_right = _positions(size[1], logits.shape[2], align_corners, device)
    first = int(top.min())
    band = logits[:, first : int(bottom.max()) + 1]  # the source rows of this strip
    band = torch.addcmul(band[:, :, right] * w_right, band[:, :, left], w_left)
    upper, lower = band[:, top - first], band[:, bottom - first]
    return torch.addcmul(lower * w_bottom[:, None], upper, w_top[:, None])


def image_labels(
    item: dict, window: WindowFn, settings: WindowSettings, device: torch.device | str = "cpu"
) -> np.ndarray:
    """(H, W) int64 classes of one pipeline item (one view, or TestTimeAug's): the argmax of the
    views' mean probabilities at the original size. A small result is summed view by view (one
    view's logits in memory at a time); a large one keeps the views' logits at their pipeline
    size and is reduced in strips of rows."""
    inputs, samples = item["inputs"], item["data_samples"]
    if isinstance(inputs, torch.Tensor):
        inputs, samples = [inputs], [samples]
    size = tuple(samples[0].metainfo["ori_shape"])
    views = (view_logits(v, window, settings, device, s.metainfo) for v, s in zip(inputs, samples))
    first = next(views)
    bytes_per_row = first.shape[0] * size[1] * 4
    if bytes_per_row * size[0] <= FULL_SIZE_BYTES:
        probs = full_size_probs(first, size, settings.align_corners)
        for logits in views:
            probs.add_(full_size_probs(logits, size, settings.align_corners))
        return (probs / len(inputs)).argmax(dim=0).cpu().numpy()
    views = [first, *views]
    rows = max(1, STRIP_BYTES // bytes_per_row)
    labels = np.empty(size, np.int64)
    for start in range(0, size[0], rows):
        stop = min(size[0], start + rows)
        probs = None
        for logits in views:
            p = resize_rows(logits, size, start, stop, settings.align_corners).softmax(dim=0)
            probs = p if probs is None else probs.add_(p)
        labels[start:stop] = (probs / len(views)).argmax(dim=0).cpu().numpy()
    return labels
