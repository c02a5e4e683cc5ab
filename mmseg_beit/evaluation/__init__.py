"""Evaluation metrics registered in scope ``mmseg_beit``."""

from mmseg_beit.evaluation.iou_metric import IoUMetric

__all__ = ["IoUMetric"]
