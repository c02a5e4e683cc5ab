"""IoU evaluation that refuses ground truth it cannot score."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from mmseg.evaluation.metrics import IoUMetric as MMSegIoUMetric

from mmseg_beit.registry import METRICS


class LabelRangeError(ValueError):
    """A ground-truth label value is neither a class nor the ignore index."""


@METRICS.register_module()
class IoUMetric(MMSegIoUMetric):
    """MMSegmentation's IoUMetric (same arguments and numbers), with two guards.

    * A ground-truth value that is neither a class (after ``reduce_zero_label``) nor
      ``ignore_index`` raises, naming the label file: mmseg's histogram would drop such pixels
      and report a different mIoU without a word.
    * With ``output_dir``, every process makes the folder before writing to it (mmseg makes it
      on the first rank only, so another rank could write first and fail).
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        if self.output_dir is not None:
            os.makedirs(self.output_dir, exist_ok=True)
        if not self.format_only:
            num_classes = len(self.dataset_meta["classes"])
            for sample in data_samples:
                check_labels(sample["gt_sem_seg"]["data"], num_classes, self.ignore_index, sample)
        super().process(data_batch, data_samples)


def check_labels(labels: torch.Tensor, num_classes: int, ignore_index: int, sample: dict) -> None:
    """Raises :class:`LabelRangeError` naming the sample's label file if a value is out of
    range."""
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        values = sorted({int(v) for v in labels[bad].unique()[:8]})
        where = sample.get("seg_map_path") or sample.get("img_path") or "a test sample"
        raise LabelRangeError(
            f"{where}: label values {values} are outside the {num_classes} classes "
            f"(0..{num_classes - 1}, {ignore_index} = ignore; after reduce_zero_label "
            f"{bool(sample.get('reduce_zero_label'))}); fix the labels or the class count "
            "(mmseg-beit check-data CONFIG lists every such file)"
        )
