"""Evaluation metrics registered in scope ``mmseg_beit``."""

from mmseg_beit.evaluation.iou_metric import IoUMetric, LabelRangeError

__all__ = ["IoUMetric", "LabelRangeError"]
