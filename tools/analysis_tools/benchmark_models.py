"""Building the benchmarked models (ours, mmseg's, transformers') and per-model counts.

Used by ``benchmark.py`` beside it.
"""

from __future__ import annotations

import torch

DTYPES = {"fp32": None, "bf16": "bf16", "fp16": "fp16"}


def _model_cfg(config: str, shape: tuple[int, int]):
    from mmengine.config import Config

    from mmseg_beit.runtime.launch import replace_sync_bn

    cfg = Config.fromfile(config)
    model = replace_sync_bn(cfg.model)
    model.backbone.init_cfg = None
    model.backbone.img_size = tuple(shape)  # mmseg's BEiT only runs at its configured size
    model.pop("pretrained", None)
    return cfg, model


def our_settings(dtype: str, device: str, train: bool) -> dict:
    """The speed / memory switches this package's model runs with, per dtype and device."""
    settings = {}
    if dtype != "fp32":
        parts = ("backbone", "neck", "decode_head") + (("auxiliary_head",) if train else ())
        settings |= {f"{part}.autocast": dtype for part in parts}
    if train:
        settings |= {
            f"{part}.with_cp": True for part in ("backbone", "decode_head", "auxiliary_head")
        }
    elif dtype != "fp32":
        settings |= {"neck.channels_last": True, "decode_head.channels_last": True}
    elif device == "cpu":
        settings["decode_head.conv_cfg"] = dict(type="WinogradConv2d")
    if device == "cuda" and not train:
        settings["test_cfg.crop_batch"] = 4
    return settings


def build(impl: str, config: str, shape, dtype: str, device: str, train: bool):
    """(model, settings) for impl 'ours' or 'mmseg'; weights are loaded by the caller."""
    from mmengine.config import ConfigDict

    from mmseg_beit.registry import MODELS

    _, model_cfg = _model_cfg(config, shape)
    settings = our_settings(dtype, device, train) if impl == "ours" else {}
    if impl == "mmseg":
        model_cfg.type = "mmseg.EncoderDecoder"
        for part in ("backbone", "neck", "decode_head", "auxiliary_head"):
            model_cfg[part].type = f"mmseg.{model_cfg[part].type}"
    for key, value in settings.items():
        node = model_cfg
        *path, leaf = key.split(".")
        for name in path:
            node = node.setdefault(name, {})
        node[leaf] = value
    return MODELS.build(ConfigDict(model_cfg)), settings


def hf_model(config: str, shape, ours_out_indices, num_classes: int):
    """transformers' BeitForSemanticSegmentation of the same size and weights.

    transformers feeds its neck block ``i - 2`` for out_indices ``i`` and allows ``i`` only up to
    the number of blocks, so the last block can never reach its neck. It gets ``i + 1`` here
    (blocks one earlier than ours): it runs every block either way, so the compute is the same.
    """
    import transformers

    _, model_cfg = _model_cfg(config, shape)
    backbone = model_cfg.backbone
    hf_config = transformers.BeitConfig(
        hidden_size=backbone.embed_dims,
        num_hidden_layers=backbone.num_layers,
        num_attention_heads=backbone.num_heads,
        intermediate_size=int(backbone.embed_dims * backbone.get("mlp_ratio", 4)),
        image_size=shape[0],
        patch_size=16,
        use_relative_position_bias=True,
        layer_scale_init_value=backbone.get("init_values", 0.1),
        out_indices=[i + 1 for i in ours_out_indices],
        pool_scales=list(model_cfg.decode_head.pool_scales),
        use_auxiliary_head=False,
        num_labels=num_classes,
        attn_implementation="sdpa",
    )
    return transformers.BeitForSemanticSegmentation(hf_config)


def count_flops(config: str, shape, weights: dict) -> dict:
    """FLOPs of one image's inference forward (backbone + neck + decode head), counted by torch.

    ``model``: with direct convolutions (the usual figure); ``executed``: what ours runs with its
    fp32 CPU switches (Winograd does fewer multiplications); ``backbone``: the encoder alone.
    """
    from torch.utils.flop_counter import FlopCounterMode

    flops = {}
    for name, impl in (("model", "mmseg"), ("executed", "ours")):
        model, _ = build(impl, config, shape, "fp32", "cpu", False)
        model.load_state_dict(weights["ours"])
        model.eval()
        x = torch.randn(1, 3, *shape)
        with torch.inference_mode(), FlopCounterMode(display=False) as backbone:
            features = model.backbone(x)
        with torch.inference_mode(), FlopCounterMode(display=False) as rest:
            model.decode_head(model.neck(features))
        flops[name] = backbone.get_total_flops() + rest.get_total_flops()
        flops.setdefault("backbone", backbone.get_total_flops())
    return flops


def agreement(config: str, checkpoint: str, folder: str, dtype: str) -> dict:
    """Share of pixels whose class under ``dtype`` (our switches) equals the fp32 class."""
    from mmseg_beit.apis import load_segmentor, segment
    from mmseg_beit.apis.files import collect_images

    paths, _ = collect_images([folder])
    if not paths:
        raise SystemExit(f"benchmark: no images in {folder}")
    reference = load_segmentor(config, checkpoint)
    options = {k: v for k, v in our_settings(dtype, "cpu", False).items() if "test_cfg" not in k}
    fast = load_segmentor(
        config, checkpoint, cfg_options={f"model.{k}": v for k, v in options.items()}
    )
    same = total = 0
    for path in paths:
        a, b = segment(reference, path)[0].labels, segment(fast, path)[0].labels
        same, total = same + int((a == b).sum()), total + a.size
    return {"images": len(paths), "pixels": total, "agreement": same / total, "dtype": dtype}
