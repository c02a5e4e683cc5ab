"""The benchmarked models (ours, mmseg's, transformers', ours in ONNX), their shared weights
and per-model counts.

Used by ``benchmark.py`` beside it. Ours is built as users get it: with the speed preset of the
device and precision (``mmseg_beit/models/speed.py``), or with one preset option on its own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

DTYPES = ("fp32", "bf16", "fp16")
# --modes settings: ours with no option, each speed option alone (switched on), the preset.
OPTIONS = {
    "winograd": dict(winograd=True),
    "winograd_cache": dict(winograd=True, winograd_cache=True),
    "cache_grids": dict(cache_grids=1),
    "matmul_attention": dict(attention="matmul"),
}
VARIANTS = ("off", *OPTIONS, "preset")


def _model_cfg(config: str, shape: tuple[int, int]):
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    model = cfg.model.module if "module" in cfg.model else cfg.model
    model.backbone.init_cfg = None
    model.backbone.img_size = tuple(shape)  # mmseg's BEiT only runs at its configured size
    model.pop("pretrained", None)
    return cfg, model


def our_settings(device: str, dtype: str, variant: str = "preset") -> dict:
    """The speed options ours runs with: the preset of ``device`` and ``dtype``, none ('off'),
    or one option of :data:`OPTIONS` alone."""
    from mmseg_beit.models.speed import SpeedPreset, speed_preset

    if variant == "preset":
        return dataclasses.asdict(speed_preset(device, dtype))
    return dataclasses.asdict(SpeedPreset(**OPTIONS.get(variant, {})))


def build(impl: str, config: str, shape, dtype: str, device: str, with_cp: bool = False,
          variant: str = "preset"):  # fmt: skip
    """(model, settings) for impl 'ours' or 'mmseg'; weights are loaded by the caller."""
    from mmengine.config import ConfigDict

    from mmseg_beit.models.speed import SpeedPreset
    from mmseg_beit.registry import MODELS

    _, model_cfg = _model_cfg(config, shape)
    settings = {}
    if impl == "mmseg":
        model_cfg.type = "mmseg.EncoderDecoder"
        model_cfg.pop("speed", None)
        for part in ("backbone", "neck", "decode_head", "auxiliary_head"):
            model_cfg[part].type = "mmseg." + model_cfg[part].type.split(".")[-1]
        for key in ("qkv_bias", "rel_pos_bias", "abs_pos_embed", "cache_grids", "attn_kernel"):
            model_cfg.backbone.pop(key, None)
    else:
        settings = our_settings(device, dtype, variant)
        model_cfg.speed = "off"
        model_cfg.test_cfg.precision = dtype
        SpeedPreset(**settings).apply(model_cfg.backbone, model_cfg.decode_head, model_cfg.test_cfg)
        if with_cp:
            settings["with_cp"] = True
            for part in ("backbone", "decode_head", "auxiliary_head"):
                model_cfg[part].with_cp = True
    return MODELS.build(ConfigDict(model_cfg)), settings


def hf_model(config: str, shape, ours_out_indices, num_classes: int):
    """transformers' BeitForSemanticSegmentation of the same size and weights.

    transformers feeds its neck block ``i - 2`` for out_indices ``i`` and allows ``i`` only up to
    the number of blocks, so the last block can never reach its neck. It gets ``i + 1`` here
    (blocks one earlier than ours): it runs every block either way, so the compute is the same.
    """
    try:
        import transformers
    except ImportError:
        raise SystemExit(
            "benchmark: --compare hf needs transformers: pip install transformers"
        ) from None

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
    """FLOPs of one image's inference forward, counted by torch (``model_stats.part_flops``).

    ``parts``: backbone, neck and decode head with plain convolutions (the model's FLOPs, the
    same for every implementation); ``model``: their sum; ``executed``: what ours runs with its
    CPU fp32 preset (Winograd does fewer multiplications).
    """
    from model_stats import part_flops

    flops = {}
    for name, variant in (("model", "off"), ("executed", "preset")):
        model, _ = build("ours", config, shape, "fp32", "cpu", variant=variant)
        model.load_state_dict(weights["ours"])
        model.eval()
        parts = part_flops(model, torch.randn(1, 3, *shape))
        flops[name] = sum(parts.values())
        flops.setdefault("parts", parts)
    return flops


def agreement(config: str, checkpoint: str, folder: str, dtype: str) -> dict:
    """Share of pixels whose class in ``dtype`` inference equals the fp32 class."""
    from mmseg_beit.apis import load_segmentor, segment
    from mmseg_beit.utils.images import collect_images

    paths, _ = collect_images([folder])
    if not paths:
        raise SystemExit(f"benchmark: no images in {folder}")
    reference = load_segmentor(config, checkpoint)
    fast = load_segmentor(config, checkpoint, precision=dtype)
    same = total = 0
    for path in paths:
        a, b = segment(reference, path)[0].labels, segment(fast, path)[0].labels
        same, total = same + int((a == b).sum()), total + a.size
    return {"images": len(paths), "pixels": total, "agreement": same / total, "dtype": dtype}


def export_onnx(config: str, shape, batch: int, weights: dict, path: Path) -> str:
    """Ours (plain speed options, fp32) as the benchmarked forward, exported for onnxruntime."""
    model, _ = build("ours", config, shape, "fp32", "cpu", variant="off")
    model.load_state_dict(weights["ours"])
    model.eval()

    class Forward(torch.nn.Module):
        def __init__(self, segmentor):
            super().__init__()
            self.segmentor = segmentor

        def forward(self, image):
            return self.segmentor.decode_head(self.segmentor.neck(self.segmentor.backbone(image)))

    example = (torch.randn(batch, 3, *shape),)
    with torch.no_grad():
        program = torch.onnx.export(
            Forward(model), example, dynamo=True, input_names=["image"], output_names=["logits"]
        )
    program.save(str(path))
    return str(path)


def prepare_weights(config: str, shape, checkpoint: str | None, compare, path: Path) -> dict:
    """One set of weights for every implementation, saved to ``path`` for the workers: the
    checkpoint's, or random ones (with 'hf' in ``compare``, transformers' initialisation
    converted to ours); with the out indices and class count the others need."""
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import mmseg_beit  # noqa: F401
    from mmseg_beit.checkpoint import load_file, state_dict_of
    from mmseg_beit.checkpoint.huggingface import convert_huggingface

    init_default_scope("mmseg_beit")
    MMLogger.get_instance("benchmark", log_level="WARNING")  # no per-tensor init report
    torch.manual_seed(0)
    ours, _ = build("ours", config, shape, "fp32", "cpu")
    info = {
        "out_indices": list(ours.backbone.out_indices),
        "num_classes": ours.decode_head.num_classes,
    }
    weights = {}
    if checkpoint:
        if "hf" in compare:
            raise SystemExit("benchmark: --compare hf uses random weights; drop --checkpoint")
        ours.load_state_dict(state_dict_of(load_file(checkpoint), checkpoint))
    else:
        ours.init_weights()
    if "hf" in compare:
        hf = hf_model(config, shape, info["out_indices"], info["num_classes"])
        weights["hf"] = hf.state_dict()
        converted = convert_huggingface(weights["hf"])
        own = ours.state_dict()
        own.update({k: v for k, v in converted.items() if k in own})  # aux head: ours' random
        ours.load_state_dict(own)
    weights["ours"] = ours.state_dict()
    torch.save(weights, path)
    return weights | info
