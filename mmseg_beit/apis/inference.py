"""Build a segmentor from a config (+ checkpoint) and run it on images."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from mmseg_beit.checkpoint.loading import load_file, state_dict_of
from mmseg_beit.checkpoint.pretrained import load_state_dict_checked
from mmseg_beit.registry import DATASETS, MODELS

ImageLike = str | os.PathLike | np.ndarray


@dataclass
class Prediction:
    """One image's result at its original size.

    Attributes:
        labels: (H, W) int64 class indices (0-based, as the model predicts them).
        probs: (num_classes, H, W) float32 softmax probabilities, or None if not asked for.
    """

    labels: np.ndarray
    probs: np.ndarray | None = None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Reads any common image as 8-bit BGR: grayscale, RGBA, 16-bit, EXIF-rotated.

    Raises:
        ValueError: If the file is missing or cannot be decoded, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such image file")
    # IMREAD_COLOR applies EXIF orientation, drops alpha, expands gray and scales 16-bit to 8.
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return image


def _as_bgr(image: ImageLike) -> np.ndarray:
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if hasattr(image, "convert"):  # PIL image
        return np.ascontiguousarray(np.asarray(image.convert("RGB"))[..., ::-1])
    array = np.asarray(image)
    if array.ndim == 2:
        array = cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    elif array.shape[-1] == 4:
        array = array[..., :3]
    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    return np.ascontiguousarray(array)


def _dataset_meta(cfg: Config, checkpoint: dict | None) -> dict:
    meta = (checkpoint or {}).get("meta", {}) if isinstance(checkpoint, dict) else {}
    if "dataset_meta" in meta:
        return dict(meta["dataset_meta"])
    if "CLASSES" in meta:
        return {"classes": meta["CLASSES"], "palette": meta.get("PALETTE")}
    dataset_type = cfg.get("test_dataloader", {}).get("dataset", {}).get("type")
    dataset_cls = DATASETS.get(dataset_type) if dataset_type else None
    return dict(getattr(dataset_cls, "METAINFO", {}))


def _without_annotations(steps: list) -> list:
    """The pipeline minus LoadAnnotations, also inside TestTimeAug's alternatives."""
    kept = []
    for step in steps:
        if step.get("type") == "LoadAnnotations":
            continue
        if step.get("type") == "TestTimeAug":
            step = dict(step, transforms=[_without_annotations(t) for t in step["transforms"]])
            step["transforms"] = [t for t in step["transforms"] if t]
        kept.append(step)
    return kept


def _build_pipeline(cfg: Config, tta: bool) -> Compose:
    if tta and "tta_pipeline" not in cfg:
        raise ValueError(f"{cfg.filename}: no tta_pipeline for multi-scale + flip inference")
    steps = _without_annotations(copy.deepcopy(cfg.tta_pipeline if tta else cfg.test_pipeline))
    steps[0] = dict(type="LoadImageFromNDArray")
    return Compose(steps)


def load_weights(model: nn.Module, checkpoint: str | os.PathLike) -> dict:
    """Loads a checkpoint strictly into a segmentor (or its DDP / TTA wrapper) via the safe loader.

    Returns:
        The raw checkpoint (for its ``meta``).

    Raises:
        mmseg_beit.checkpoint.CheckpointError: Unreadable, unsafe or non-fitting checkpoint.
    """
    target = getattr(model, "module", model)  # DDP and SegTTAModel keep the model in .module
    raw = load_file(checkpoint)
    load_state_dict_checked(target, state_dict_of(raw, checkpoint), str(checkpoint), strict=True)
    return raw


def load_segmentor(
    config: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    cfg_options: dict | None = None,
    tta: bool = False,
) -> nn.Module:
    """Builds the segmentor of ``config`` in eval mode and loads ``checkpoint`` strictly.

    Class names and palette come from the checkpoint's ``meta`` (mmseg 1.x or 0.x style) or
    else from the config's test dataset class. SyncBN becomes BN off the GPU. With ``tta``,
    :func:`segment` averages the softmax scores of the config's ``tta_pipeline`` views
    (multi-scale + flip).

    Raises:
        mmseg_beit.checkpoint.CheckpointError: Unreadable, unsafe or non-fitting checkpoint.
    """
    cfg = config if isinstance(config, Config) else Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.pop("pretrained", None)
    cfg.model.train_cfg = None
    if "init_cfg" in cfg.model.get("backbone", {}):
        cfg.model.backbone.init_cfg = None
    init_default_scope(cfg.get("default_scope", "mmseg_beit"))
    model = MODELS.build(cfg.model)
    raw = None
    if checkpoint is None:
        model.init_weights()
    else:
        raw = load_weights(model, checkpoint)
    model.cfg = cfg
    model.dataset_meta = _dataset_meta(cfg, raw)
    model.inference_pipeline = _build_pipeline(cfg, tta)
    model.tta = tta
    if torch.device(device).type != "cuda":
        model = revert_sync_batchnorm(model)
    return model.to(device).eval()


@torch.no_grad()
def segment(
    model: nn.Module, images: ImageLike | Sequence[ImageLike], with_probs: bool = False
) -> list[Prediction]:
    """Runs the model's test pipeline and test mode (whole or sliding window) on images.

    Args:
        model: A segmentor from :func:`load_segmentor`.
        images: One or several paths, BGR / gray / RGBA arrays (uint8 or uint16) or PIL images.
        with_probs: Also return per-class probabilities.

    Returns:
        One :class:`Prediction` per image, at the image's original size.
    """
    single = isinstance(images, (str, os.PathLike, np.ndarray)) or hasattr(images, "convert")
    predictions = []
    for image in [images] if single else images:
        item = model.inference_pipeline(dict(img=_as_bgr(image)))
        if model.tta:
            views = list(zip(item["inputs"], item["data_samples"]))
        else:
            views = [(item["inputs"], item["data_samples"])]
        probs = 0
        for inputs, sample in views:
            result = model.test_step(dict(inputs=[inputs], data_samples=[sample]))[0]
            probs = probs + result.seg_logits.data.float().softmax(dim=0)
        probs = probs / len(views)
        labels = probs.argmax(dim=0).cpu().numpy().astype(np.int64)
        predictions.append(Prediction(labels, probs.cpu().numpy() if with_probs else None))
    return predictions
