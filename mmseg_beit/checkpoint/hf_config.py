"""Hugging Face BEiT / ViT ``config.json`` -> this package's configs (model, or a whole run)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from mmengine.config import Config

from mmseg_beit.checkpoint.huggingface import transformers_blocks


def backbone_config(config: dict, blocks: str = "unilm") -> dict:
    """Our ``BEiT`` arguments for a Hugging Face BEiT / ViT ``config.json``.

    Args:
        config: The Hugging Face config.
        blocks: 'unilm' reads ``out_indices`` as 0-based blocks (how the released BEiT weights
            were trained, and what mmseg does); 'transformers' picks the blocks that transformers
            feeds its neck (:func:`transformers_blocks`), reproducing its outputs exactly.
    """
    if blocks not in ("unilm", "transformers"):
        raise ValueError(f"blocks must be 'unilm' or 'transformers', got {blocks!r}")
    vit = config.get("model_type") == "vit"
    hidden, layers = config["hidden_size"], config["num_hidden_layers"]
    out_indices = list(config.get("out_indices") or [layers])
    if out_indices == [layers]:  # transformers' default, the last hidden state: the last block
        out_indices = [layers - 1]
    elif blocks == "transformers":
        out_indices = transformers_blocks(out_indices)
        if min(out_indices) < 0:
            raise ValueError(f"out_indices {config['out_indices']} select the embedding output")
    outside = [i for i in out_indices if not -layers <= i < layers]
    if outside:
        other = "transformers" if blocks == "unilm" else "unilm"
        raise ValueError(
            f"out_indices {config['out_indices']} with --blocks {blocks} select blocks "
            f"{out_indices}, but the model has {layers} (0..{layers - 1}); "
            f"try --blocks {other}"
        )
    scale = config.get("layer_scale_init_value", 0.0)
    return dict(
        type="mmseg_beit.BEiT",
        img_size=config["image_size"],
        patch_size=config["patch_size"],
        in_channels=config.get("num_channels", 3),
        embed_dims=hidden,
        num_layers=layers,
        num_heads=config["num_attention_heads"],
        mlp_ratio=config["intermediate_size"] / hidden,
        out_indices=out_indices,
        qv_bias=not vit,
        qkv_bias=vit and bool(config.get("qkv_bias", True)),
        rel_pos_bias=not vit
        and bool(
            config.get("use_relative_position_bias")
            or config.get("use_shared_relative_position_bias")
        ),
        abs_pos_embed=vit or bool(config.get("use_absolute_position_embeddings")),
        init_values=None if vit or not scale else scale,
        norm_cfg=dict(type="LN", eps=config.get("layer_norm_eps", 1e-12)),
    )


def segmentor_config(config: dict, blocks: str = "unilm") -> dict:
    """An ``EncoderDecoder`` model config equal to a ``BeitForSemanticSegmentation`` config."""
    hidden, num_classes = config["hidden_size"], len(config.get("id2label") or {}) or 150
    norm = dict(type="SyncBN", requires_grad=True)
    loss = dict(type="CrossEntropyLoss", use_sigmoid=False)
    model = dict(
        type="mmseg_beit.EncoderDecoder",
        backbone=backbone_config(config, blocks),
        neck=dict(
            type="mmseg_beit.Feature2Pyramid",
            embed_dim=hidden,
            rescales=[4, 2, 1, 0.5],
            norm_cfg=norm,
        ),
        decode_head=dict(
            type="mmseg_beit.UPerHead",
            in_channels=[hidden] * 4,
            in_index=[0, 1, 2, 3],
            pool_scales=tuple(config.get("pool_scales", (1, 2, 3, 6))),
            channels=hidden,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=norm,
            align_corners=False,
            loss_decode=dict(loss, loss_weight=1.0),
        ),
    )
    if not config.get("use_auxiliary_head", True):  # transformers' default: one
        return model
    model["auxiliary_head"] = dict(
        type="mmseg_beit.FCNHead",
        in_channels=hidden,
        in_index=2,
        channels=config.get("auxiliary_channels", 256),
        num_convs=config.get("auxiliary_num_convs", 1),
        concat_input=config.get("auxiliary_concat_input", False),
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm,
        align_corners=False,
        loss_decode=dict(loss, loss_weight=config.get("auxiliary_loss_weight", 0.4)),
    )
    return model


def dataset_meta(config: dict) -> dict | None:
    """Class names (from ``id2label``) and a palette (ADE20K's for its 150 classes)."""
    id2label = config.get("id2label")
    if not id2label:
        return None
    classes = [id2label[k] for k in sorted(id2label, key=int)]
    from mmseg.datasets import ADE20KDataset

    if len(classes) == len(ADE20KDataset.METAINFO["classes"]):
        palette = [list(c) for c in ADE20KDataset.METAINFO["palette"]]
    else:
        rng = np.random.default_rng(0)
        palette = rng.integers(0, 256, (len(classes), 3)).tolist()
    return {"classes": classes, "palette": palette}


def _preprocessor(folder: Path, channels: int) -> dict:
    """Mean / std of ``preprocessor_config.json`` in 0..255 (BEiT's default: 0.5 / 0.5), one
    per channel; colour order converted only for 3 channels."""
    path = folder / "preprocessor_config.json"
    processor = json.loads(path.read_text()) if path.is_file() else {}
    values = {}
    for name in ("image_mean", "image_std"):
        value = processor.get(name, 0.5)
        value = [value] if isinstance(value, (int, float)) else list(value)
        if len(value) != channels and len(set(value)) == 1:
            value = value[:1] * channels  # one value for every channel
        if len(value) != channels:
            raise ValueError(f"{path}: {name} {value} does not give one value per channel")
        values[name] = [255.0 * v for v in value]
    return dict(mean=values["image_mean"], std=values["image_std"], bgr_to_rgb=channels == 3)


def _grayscale(pipeline: list) -> list:
    """A pipeline that reads images as one channel, without the colour jitter."""
    steps = []
    for step in pipeline:
        if step["type"] == "PhotoMetricDistortion":
            continue
        if step["type"] == "LoadImageFromFile":
            step = dict(step, color_type="grayscale")
        steps.append(step)
    return steps


def run_config(config: dict, folder: Path, blocks: str = "unilm") -> Config:
    """A whole run config for a ``BeitForSemanticSegmentation``: the shipped BEiT recipe of its
    width with this model, its preprocessing (``preprocessor_config.json``) and classes."""
    from mmseg_beit.utils.configs import find_config

    channels = config.get("num_channels", 3)
    if channels not in (1, 3):
        raise ValueError(
            f"num_channels {channels}: image files load as 1 (grayscale) or 3 (colour) "
            "channels, so no run config can feed this model; convert with --backbone-only "
            "and write your own pipeline"
        )
    name = "upernet_beit-large_fp16_8x1_640x640_160k_ade20k"
    if config["hidden_size"] < 1024:
        name = "upernet_beit-base_8x2_640x640_160k_ade20k"
    cfg = Config.fromfile(str(find_config(name)))
    model = segmentor_config(config, blocks)
    model["backbone"]["init_cfg"] = None
    model["data_preprocessor"] = dict(
        cfg.model.data_preprocessor, **_preprocessor(folder, channels)
    )
    model["test_cfg"] = cfg.model.test_cfg
    model["speed"] = "auto"
    cfg.model = model
    if channels == 1:
        cfg.tta_pipeline = _grayscale(cfg.tta_pipeline)
        for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
            cfg[loader].dataset.pipeline = _grayscale(cfg[loader].dataset.pipeline)
    meta = dataset_meta(config)
    if meta and len(meta["classes"]) != 150:
        for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
            cfg[loader].dataset.metainfo = meta
    return cfg
