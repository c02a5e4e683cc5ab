"""Datasets and transforms registered in scope ``mmseg_beit``."""

from mmseg_beit.datasets.toy_ade20k import ToyADE20KDataset, ensure_toy_ade20k, make_toy_ade20k
from mmseg_beit.datasets.transforms import ResizeWithMinSize

__all__ = ["ResizeWithMinSize", "ToyADE20KDataset", "ensure_toy_ade20k", "make_toy_ade20k"]
