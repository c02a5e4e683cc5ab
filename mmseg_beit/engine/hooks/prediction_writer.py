"""A test hook writing, per image, the same files as ``tools/infer.py`` and, where the image has
a ground truth, an image | ground truth | prediction picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg_beit.registry import HOOKS
from mmseg_beit.utils.images import read_image
from mmseg_beit.utils.visualization import save_comparison, save_prediction


@HOOKS.register_module()
class PredictionWriterHook(Hook):
    """Writes ``NAME_overlay.png`` (with a legend), ``NAME.png`` (labels) and, for images with
    a ground truth, ``NAME_compare.png`` (image | ground truth | prediction) for test images.

    Args:
        out_dir: Output folder.
        opacity: Weight of the label colours in the overlay.
    """

    priority = "LOW"

    def __init__(self, out_dir: str, opacity: float = 0.5) -> None:
        self.out_dir = out_dir
        self.opacity = opacity

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        meta = getattr(model, "dataset_meta", None) or runner.test_dataloader.dataset.metainfo
        for sample in outputs or []:
            image_rgb = read_image(sample.img_path)[..., ::-1]
            labels = sample.pred_sem_seg.data[0].cpu().numpy()
            name = Path(sample.img_path).stem
            classes, palette = meta["classes"], meta["palette"]
            save_prediction(self.out_dir, name, image_rgb, labels, classes, palette, self.opacity)
            if "gt_sem_seg" in sample:
                truth = sample.gt_sem_seg.data[0].cpu().numpy()
                if truth.shape != labels.shape:  # annotations loaded before a resize: nearest
                    rows = np.arange(labels.shape[0]) * truth.shape[0] // labels.shape[0]
                    cols = np.arange(labels.shape[1]) * truth.shape[1] // labels.shape[1]
                    truth = truth[rows][:, cols]
                save_comparison(
                    self.out_dir, name, image_rgb, truth, labels, classes, palette, self.opacity
                )
