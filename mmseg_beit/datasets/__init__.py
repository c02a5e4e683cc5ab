"""Datasets registered in scope ``mmseg_beit``."""

from mmseg_beit.datasets.toy_ade20k import ToyADE20KDataset, make_toy_ade20k

__all__ = ["ToyADE20KDataset", "make_toy_ade20k"]
