"""Relative position bias tables of BEiT: index, runtime resampling and the legacy resize.

A table has ``(2h - 1) * (2w - 1) + 3`` rows for a token grid ``(h, w)``: one row per relative
offset (row-major over dy, dx), then three rows for cls->token, token->cls and cls->cls.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.interpolate import RectBivariateSpline

NUM_EXTRA_ROWS = 3


def table_rows(grid: tuple[int, int]) -> int:
    """Number of table rows for a token grid ``(h, w)``."""
    h, w = grid
    return (2 * h - 1) * (2 * w - 1) + NUM_EXTRA_ROWS


def relative_position_index(
    grid: tuple[int, int], device: torch.device | str | None = None
) -> torch.Tensor:
    """Index into the table for every (query, key) pair of ``h * w`` tokens plus cls.

    Returns:
        Long tensor of shape (h * w + 1, h * w + 1) on ``device``; position 0 is the cls token.
    """
    h, w = grid
    ys, xs = torch.meshgrid(
        torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij"
    )
    coords = torch.stack([ys, xs]).flatten(1)
    rel = coords[:, :, None] - coords[:, None, :]  # (2, N, N)
    body = (rel[0] + h - 1) * (2 * w - 1) + (rel[1] + w - 1)
    rows = table_rows(grid)
    index = torch.empty(h * w + 1, h * w + 1, dtype=torch.long, device=device)
    index[1:, 1:] = body
    index[0, :] = rows - 3
    index[:, 0] = rows - 2
    index[0, 0] = rows - 1
    return index


def windowed_relative_bias(
    table: torch.Tensor, grid: tuple[int, int], dtype: torch.dtype, align: int = 1
) -> torch.Tensor:
    """The (heads, N, N) bias of ``table`` for ``grid``, with the keys' grid tokens reversed.

    Query ``(y, x)`` and reversed key ``(y', x')`` (key ``(h-1-y', w-1-x')``) meet at offset row
    ``y + y'`` and column ``x + x'``: every query's bias is a window of the table's offset plane,
    so the bias is copied out of one strided view instead of gathered through a (N, N) index,
    several times faster on a CPU and without the 8-byte index reads. Values equal the gathered
    bias's exactly; attention is the same sum over keys in another order.

    Args:
        table: (rows, heads) table of ``grid``.
        grid: Token grid ``(h, w)``.
        dtype: Dtype of the result (converted while copying).
        align: Rows start every ``align`` elements (see :func:`sdpa_mask`).
    """
    h, w = grid
    heads, n = table.shape[1], h * w + 1
    table = table.to(dtype)  # converting the small table, not the copies: 3x faster in bf16
    body = table[:-NUM_EXTRA_ROWS].t().reshape(heads, 2 * h - 1, 2 * w - 1)
    # rows[head, x, r, x'] = body[head, r, x + x'] (small), so that query (y, x)'s whole bias,
    # body[head, y + y', x + x'] over (y', x'), is rows[head, x, y:y + h] in one contiguous run:
    # the big copy then moves runs of h * w values, not of w (4x faster in fp32).
    s0, s1, s2 = body.stride()
    rows = body.as_strided((heads, w, 2 * h - 1, w), (s0, s2, s1, s2), body.storage_offset())
    rows = rows.contiguous()
    r0, r1 = rows.stride()[:2]
    windows = rows.as_strided((heads, h, w, h * w), (r0, w, r1, 1))
    stride = -(-n // align) * align
    out = table.new_empty(heads, n, stride)[..., :n]
    out[:, 1:, 1:].view(heads, h, w, h * w).copy_(windows)
    out[:, 0, :] = table[-3].unsqueeze(1)  # cls query -> every key
    out[:, 1:, 0] = table[-2].unsqueeze(1)  # every query -> cls key
    out[:, 0, 0] = table[-1]
    return out


def reverse_grid_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """(..., 1 + h * w, C) tokens with the grid tokens (after cls) in reverse order."""
    return torch.cat((tokens[..., :1, :], tokens[..., 1:, :].flip(-2)), dim=-2)


def grid_of_index(index: torch.Tensor) -> tuple[int, int]:
    """The token grid ``(h, w)`` a relative position index was built for.

    The first token's offsets to its right and lower neighbours differ by 1 and ``2w - 1``.

    Raises:
        ValueError: If ``index`` is not such an index.
    """
    tokens = index.shape[0] - 1
    if index.dim() != 2 or index.shape[0] != index.shape[1] or tokens < 1:
        raise ValueError(f"not a relative position index: shape {tuple(index.shape)}")
    rows = int(index[0, 0]) + 1
    for h in range(1, tokens + 1):
        grid = (h, tokens // h)
        if h * grid[1] == tokens and table_rows(grid) == rows:
            candidate = relative_position_index(grid, index.device)
            if torch.equal(index, candidate):
                return grid
    raise ValueError(f"not a relative position index of any grid: shape {tuple(index.shape)}")


def grid_of_table(num_rows: int, grid: tuple[int, int] | None = None) -> tuple[int, int]:
    """The token grid of a table of ``num_rows`` rows: ``grid`` if given, else square.

    Args:
        num_rows: Rows of the table.
        grid: The grid, when known from the model, an index or a checkpoint's meta; checked
            against ``num_rows``.

    Raises:
        ValueError: If ``grid`` does not fit, or none is given and the rows are not a square
            grid's, saying what to pass.
    """
    if grid is not None:
        grid = (int(grid[0]), int(grid[1]))
        if table_rows(grid) != num_rows:
            raise ValueError(
                f"a relative position table of {num_rows} rows does not fit grid {grid} "
                f"({table_rows(grid)} rows)"
            )
        return grid
    side = round(((num_rows - NUM_EXTRA_ROWS) ** 0.5 + 1) / 2)
    if table_rows((side, side)) != num_rows:
        raise ValueError(
            f"a relative position table of {num_rows} rows is not a square grid, and its grid "
            "is not known: keep relative_position_index in the checkpoint or give the grid "
            "(beit2mmseg.py --grid H W)"
        )
    return side, side


def resize_relative_table(
    table: torch.Tensor, src_grid: tuple[int, int], dst_grid: tuple[int, int]
) -> torch.Tensor:
    """Resamples a table to another token grid (bilinear over offsets; extra rows kept).

    This is the runtime path used for inputs whose token grid differs from the trained one;
    bilinear resampling with ``align_corners=False`` is what timm and transformers use too
    (to the same grid it is the identity, which exported graphs rely on).
    """
    if not torch.compiler.is_exporting() and tuple(src_grid) == tuple(dst_grid):
        return table
    heads = table.shape[1]
    body, extra = table[:-NUM_EXTRA_ROWS], table[-NUM_EXTRA_ROWS:]
    src_h, src_w = 2 * src_grid[0] - 1, 2 * src_grid[1] - 1
    body = body.t().reshape(1, heads, src_h, src_w)
    dst_size = (2 * dst_grid[0] - 1, 2 * dst_grid[1] - 1)
    body = F.interpolate(body.float(), size=dst_size, mode="bilinear", align_corners=False)
    body = body.to(table.dtype).reshape(heads, -1).t()
    return torch.cat([body, extra], dim=0)


def _geometric_coordinates(src_side: int, dst_side: int) -> np.ndarray:
    """Source offsets spread so that the table's centre keeps unit spacing (legacy scheme)."""
    half_src, half_dst = src_side // 2, dst_side // 2

    def reach(ratio: float) -> float:  # 1 + q + ... + q^(half_src - 1)
        return (1.0 - ratio**half_src) / (1.0 - ratio)

    low, high = 1.01, 1.5
    while high - low > 1e-6:
        ratio = (low + high) / 2.0
        if reach(ratio) > half_dst:
            high = ratio
        else:
            low = ratio
    positive = np.cumsum([ratio**i for i in range(half_src)])
    return np.concatenate([-positive[::-1], [0.0], positive])


def legacy_resize_relative_table(table: torch.Tensor, dst_grid: tuple[int, int]) -> torch.Tensor:
    """Resizes a square table like unilm/mmseg's ``interp2d(kind='cubic')`` geometric scheme.

    The body of each head is a bicubic interpolating spline over geometric-progression source
    coordinates, evaluated at integer offsets; SciPy's ``RectBivariateSpline`` with ``s=0`` is the
    same FITPACK spline that the removed ``interp2d`` fitted on rectangular grids.

    Args:
        table: (rows, heads) table of a square grid.
        dst_grid: Target square token grid.

    Returns:
        The (table_rows(dst_grid), heads) table, in the input's dtype and device.
    """
    src_grid = grid_of_table(table.shape[0])
    if dst_grid[0] != dst_grid[1]:
        raise ValueError(f"the legacy resize needs a square target grid, got {tuple(dst_grid)}")
    if tuple(src_grid) == tuple(dst_grid):
        return table
    src_side, dst_side = 2 * src_grid[0] - 1, 2 * dst_grid[0] - 1
    coords = _geometric_coordinates(src_side, dst_side)
    half = dst_side // 2
    targets = np.arange(-half, half + 0.1, 1.0)
    body = table[:-NUM_EXTRA_ROWS].detach().float().cpu().numpy()
    heads = []
    for head in range(table.shape[1]):
        values = body[:, head].reshape(src_side, src_side).astype(np.float64)
        spline = RectBivariateSpline(coords, coords, values, kx=3, ky=3, s=0)
        heads.append(spline(targets, targets).reshape(-1))
    new_body = torch.from_numpy(np.stack(heads, axis=1)).to(table)
    return torch.cat([new_body, table[-NUM_EXTRA_ROWS:]], dim=0)
