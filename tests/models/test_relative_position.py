"""Relative position tables: index, runtime resampling, legacy geometric cubic resize."""

from __future__ import annotations

import pytest
import torch
from conftest import RELPOS_CASES
from mmseg.models.backbones.beit import BEiTAttention as MMSegAttention

from mmseg_beit.models.utils.relative_position import (
    grid_of_table,
    legacy_resize_relative_table,
    relative_position_index,
    resize_relative_table,
    table_rows,
)


@pytest.mark.parametrize("grid", [(4, 4), (3, 5), (14, 14)])
def test_index_equals_mmseg(grid):
    reference = MMSegAttention(embed_dims=8, num_heads=2, window_size=grid)
    assert torch.equal(relative_position_index(grid), reference.relative_position_index)
    assert table_rows(grid) == reference.num_relative_distance


def test_table_rows_match_published_sizes():
    assert table_rows((40, 40)) == 6244  # 640 / 16
    assert table_rows((14, 14)) == 732  # 224 / 16
    assert grid_of_table(6244) == (40, 40)
    with pytest.raises(ValueError, match="1000 rows"):
        grid_of_table(1000)


def test_runtime_resize_keeps_extra_rows_and_is_identity_on_same_grid():
    table = torch.randn(table_rows((4, 4)), 3)
    assert resize_relative_table(table, (4, 4), (4, 4)) is table
    resized = resize_relative_table(table, (4, 4), (6, 5))
    assert resized.shape == (table_rows((6, 5)), 3)
    torch.testing.assert_close(resized[-3:], table[-3:])
    # A table constant over offsets stays constant (bilinear weights sum to one).
    flat = torch.cat([torch.full((49, 3), 0.7), table[-3:]])
    torch.testing.assert_close(
        resize_relative_table(flat, (4, 4), (9, 7))[:-3], torch.full((13 * 17, 3), 0.7)
    )


@pytest.mark.skipif(not RELPOS_CASES.is_file(), reason="reference cases not present")
def test_legacy_resize_reproduces_scipy_interp2d_cubic():
    cases = torch.load(RELPOS_CASES, weights_only=True)
    assert cases
    for name, case in cases.items():
        side = case["dst_img"] // case["patch_size"]
        out = legacy_resize_relative_table(case["src"], (side, side))
        assert out.shape == case["dst"].shape, name
        torch.testing.assert_close(out, case["dst"], atol=1e-5, rtol=0, msg=name)


def test_legacy_resize_interpolates_through_the_source_values():
    # The centre of the table keeps unit spacing: offsets -1, 0, 1 land on source samples.
    table = torch.randn(table_rows((14, 14)), 2, dtype=torch.float64)
    out = legacy_resize_relative_table(table, (40, 40))
    src = table[:-3].view(27, 27, 2)
    dst = out[:-3].view(79, 79, 2)
    torch.testing.assert_close(dst[38:41, 38:41], src[12:15, 12:15])
    torch.testing.assert_close(out[-3:], table[-3:])
    with pytest.raises(ValueError, match="square"):
        legacy_resize_relative_table(table, (40, 30))
