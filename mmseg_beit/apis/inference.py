"""Build a segmentor from a config (+ checkpoint), or a checkpoint alone, and run it on images."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper, revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import nn

from mmseg_beit.apis.config import (
    CHECKPOINT_SUFFIXES,
    enable_tta,
    is_tta_model,
    load_config,
)
from mmseg_beit.apis.dataset_info import check_classes, checkpoint_classes, config_classes
from mmseg_beit.apis.exported import EXPORTED_SUFFIXES, ExportedSegmentor
from mmseg_beit.apis.runtime import WindowFn, WindowSettings, image_probs
from mmseg_beit.apis.strips import image_labels
from mmseg_beit.checkpoint import load_file, load_state_dict_checked, state_dict_of
from mmseg_beit.models.segmentors.window_graph import WindowGraph
from mmseg_beit.models.utils.precision import check_precision
from mmseg_beit.registry import DATASETS, MODELS
from mmseg_beit.utils.images import ImageLike, as_bgr


@dataclass
class Prediction:
    """One image's result at its original size.

    Attributes:
        labels: (H, W) int64 class indices (0-based, as the model predicts them).
        probs: (num_classes, H, W) float32 probabilities (the mean over the views of a
            multi-scale test), or None if not asked for.
    """

    labels: np.ndarray
    probs: np.ndarray | None = None


def _dataset_meta(cfg: Config, checkpoint: dict | None) -> dict:
    meta = checkpoint.get("meta", {}) if isinstance(checkpoint, dict) else {}
    meta = meta if isinstance(meta, dict) else {}
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


def inference_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline for in-memory BGR arrays, without annotations (multi-scale
    views are announced once)."""
    steps = _without_annotations(copy.deepcopy(cfg.test_dataloader.dataset.pipeline))
    steps[0] = dict(type="LoadImageFromNDArray")
    views = [math.prod(len(t) for t in s["transforms"]) for s in steps if "transforms" in s]
    if views:
        print_log(f"multi-scale + flip: {views[0]} views per image", "current")
    init_default_scope(cfg.get("default_scope", "mmseg_beit"))
    return Compose(steps)


def load_weights(model: nn.Module, checkpoint: str | os.PathLike, raw: dict | None = None) -> dict:
    """Loads a checkpoint strictly into a segmentor, its TTA model or their DDP wrapper.

    Args:
        model: The model.
        checkpoint: The checkpoint file.
        raw: Its contents, if already read (``load_file``): not read again.

    Returns:
        The raw checkpoint (for its ``meta``).

    Raises:
        mmseg_beit.checkpoint.CheckpointError: Unreadable, unsafe or non-fitting checkpoint.
    """
    target = model.module if is_model_wrapper(model) else model
    raw = load_file(checkpoint) if raw is None else raw
    load_state_dict_checked(target, state_dict_of(raw, checkpoint), str(checkpoint), strict=True)
    return raw


def load_segmentor(
    model: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    cfg_options: dict | None = None,
    tta: bool = False,
    precision: str | None = None,
    allow_class_mismatch: bool = False,
) -> nn.Module:
    """Builds a segmentor in eval mode, with the speed preset of ``device``.

    Args:
        model: A config file, a shipped config's name, a Config, or a checkpoint written by
            training (it carries its config; then ``checkpoint`` defaults to it).
        checkpoint: Weights, loaded strictly (random initialisation when None).
        device: Where it runs.
        cfg_options: Config overrides.
        tta: Multi-scale + flip (the config's ``tta_pipeline``); ``*_ms`` configs always are.
        precision: Inference precision ('fp32', 'bf16', 'fp16'); default: the config's.
        allow_class_mismatch: Run a checkpoint whose class names (in its ``meta``) differ from
            those of the test dataset of a config given beside it (refused otherwise).

    Class names and palette come from the checkpoint's ``meta`` (mmseg 1.x or 0.x style) or else
    from the config's test dataset class.

    Returns:
        The segmentor; for an exported model (``.onnx``, ``.pt2`` from ``mmseg-beit export``)
        an :class:`~mmseg_beit.apis.exported.ExportedSegmentor` that :func:`segment` runs alike.

    Raises:
        mmseg_beit.checkpoint.CheckpointError: Unreadable, unsafe or non-fitting checkpoint.
        FileNotFoundError: No such config.
        ClassMismatchError: The checkpoint was trained on other classes than the config's.
    """
    exported = next(
        (s for s in (model, checkpoint) if Path(str(s)).suffix in EXPORTED_SUFFIXES), None
    )
    if exported is not None:
        if torch.device(device).type != "cpu":
            raise ValueError(f"{exported}: exported models run on the CPU here")
        return ExportedSegmentor(exported)
    separate_config = checkpoint is not None and not (
        _is_checkpoint(model) and Path(model).resolve() == Path(checkpoint).resolve()
    )
    if checkpoint is None and _is_checkpoint(model):
        checkpoint = model
    cfg = load_config(copy.deepcopy(model) if isinstance(model, Config) else model, cfg_options)
    raw = load_file(checkpoint) if checkpoint is not None else None
    if separate_config and not allow_class_mismatch:
        where = f"the test dataset of {getattr(cfg, 'filename', None) or 'the config'}"
        check_classes(checkpoint, checkpoint_classes(raw), config_classes(cfg), where)
    if tta:
        enable_tta(cfg)
    segmentor_cfg = cfg.model.module if is_tta_model(cfg.model) else cfg.model
    segmentor_cfg.pop("pretrained", None)
    segmentor_cfg.train_cfg = None
    if segmentor_cfg.get("speed", "auto") == "auto":
        segmentor_cfg.speed = torch.device(device).type
    if precision is not None:
        segmentor_cfg.setdefault("test_cfg", {})["precision"] = check_precision(precision)
    if "init_cfg" in segmentor_cfg.get("backbone", {}):
        segmentor_cfg.backbone.init_cfg = None
    init_default_scope(cfg.get("default_scope", "mmseg_beit"))
    net = MODELS.build(cfg.model)
    if checkpoint is None:
        net.init_weights()
    else:
        load_weights(net, checkpoint, raw)
    net.cfg = cfg
    net.dataset_meta = _dataset_meta(cfg, raw)
    net.inference_pipeline = inference_pipeline(cfg)
    if torch.device(device).type != "cuda":
        net = revert_sync_batchnorm(net)
    return net.to(device).eval()


def _is_checkpoint(source) -> bool:
    return isinstance(source, (str, os.PathLike)) and Path(source).suffix in CHECKPOINT_SUFFIXES


def windows_of(model) -> tuple[WindowFn, WindowSettings, torch.device]:
    """The window function, its settings and device of a loaded segmentor (any backend)."""
    if hasattr(model, "window"):  # an exported model (apis.exported)
        return model.window, model.settings, torch.device("cpu")
    segmentor = model.module if is_tta_model(model.cfg.model) else model
    settings = WindowSettings.of(model.cfg.model, segmentor.test_cfg)
    return WindowGraph(segmentor).eval(), settings, next(model.parameters()).device


@torch.no_grad()
def segment(
    model,
    images: ImageLike | Sequence[ImageLike],
    with_probs: bool = False,
    channel_order: str = "rgb",
) -> list[Prediction]:
    """Runs the model's test pipeline and its windows (whole, sliding, multi-scale views).

    The same runtime (:mod:`mmseg_beit.apis.runtime`) serves the PyTorch model and exported
    ones, and gives MMSegmentation's test-mode results.

    Args:
        model: A segmentor from :func:`load_segmentor` (PyTorch, ONNX or torch.export).
        images: One or several paths, PIL images, or arrays: colour (H, W, 3), with alpha
            (H, W, 4) or gray (H, W), uint8 or uint16.
        with_probs: Also return per-class probabilities (classes x H x W floats: large for
            large images; without them, labels are computed in strips of rows, in bounded
            memory).
        channel_order: The channel order of colour arrays: 'rgb' (the default: what PIL,
            ``imageio``, Hugging Face and most Python code hand over) or 'bgr' (OpenCV's
            ``cv2.imread``, :func:`~mmseg_beit.utils.images.read_image`). Paths and PIL images
            carry their own order.

    Returns:
        One :class:`Prediction` per image, at the image's original size.
    """
    window, settings, device = windows_of(model)
    single = isinstance(images, (str, os.PathLike, np.ndarray)) or hasattr(images, "convert")
    predictions = []
    for image in [images] if single else images:
        item = model.inference_pipeline(dict(img=as_bgr(image, channel_order)))
        if not with_probs:
            predictions.append(Prediction(image_labels(item, window, settings, device)))
            continue
        probs = image_probs(item, window, settings, device)
        labels = probs.argmax(dim=0).cpu().numpy().astype(np.int64)
        predictions.append(Prediction(labels, probs.cpu().numpy()))
    return predictions
