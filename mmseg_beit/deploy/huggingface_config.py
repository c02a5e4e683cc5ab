"""A segmentor of this package -> transformers' ``BeitConfig`` and ``BeitImageProcessor``
arguments, or the reasons transformers cannot express it.

The inverse of :mod:`mmseg_beit.checkpoint.hf_config`. transformers' ``BeitForSemanticSegmentation``
is one fixed architecture: a BEiT backbone (q / v biases, relative and / or absolute positions,
layer scale, a square training grid), the 4 / 2 / 1 / 0.5 pyramid, a UPerHead as wide as the
backbone and an optional FCN auxiliary head on the third level, BatchNorm (eps 1e-5) and ReLU.
"""

from __future__ import annotations

import inspect

from mmengine.config import Config
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg_beit.models.backbones.beit import BEiT
from mmseg_beit.models.decode_heads.fcn_head import FCNHead
from mmseg_beit.models.decode_heads.uper_head import UPerHead
from mmseg_beit.models.necks.feature2pyramid import Feature2Pyramid
from mmseg_beit.registry import DATASETS


class NotExpressible(ValueError):
    """The model has a part or option that transformers' BEiT segmentation model lacks."""


def _backbone_reasons(backbone: nn.Module) -> list[str]:
    if not isinstance(backbone, BEiT):
        return [f"backbone {type(backbone).__name__}: only mmseg_beit.BEiT"]
    block, reasons = backbone.layers[0], []
    if block.attn.qkv.bias is not None:
        reasons.append("ViT mode (qkv_bias=True): transformers' BEiT has no k bias")
    if block.attn.q_bias is None:
        reasons.append("qv_bias=False: transformers' BEiT always has q and v biases")
    if backbone.img_size[0] != backbone.img_size[1]:
        reasons.append(
            f"non-square img_size {backbone.img_size}: transformers resamples position tables "
            "of non-square grids transposed"
        )
    if not isinstance(block.ln1, nn.LayerNorm):
        reasons.append(f"norm {type(block.ln1).__name__}: transformers' BEiT uses LayerNorm")
    act = block.ffn.layers[0][1]
    if not isinstance(act, nn.GELU) or act.approximate != "none":
        reasons.append(f"activation {act}: transformers' BEiT uses exact GELU")
    blocks = list(backbone.out_indices)
    if len(blocks) != 4 or blocks != sorted(blocks):
        reasons.append(f"out_indices {blocks}: transformers takes 4 blocks in increasing order")
    return reasons


def _fcn_convs(aux: nn.Module) -> tuple[list, nn.Module | None]:
    """An FCNHead's conv blocks (``num_convs`` of them) and its ``conv_cat`` (or None)."""
    convs = list(aux.convs) if isinstance(aux.convs, nn.Sequential) else []
    return convs, getattr(aux, "conv_cat", None)


def _head_reasons(neck: nn.Module, head: nn.Module, aux: nn.Module | None, width: int) -> list:
    reasons = []
    if not isinstance(neck, Feature2Pyramid) or neck.rescales != (4, 2, 1, 0.5):
        reasons.append("neck: transformers has Feature2Pyramid with rescales (4, 2, 1, 0.5) only")
    if not isinstance(head, UPerHead):
        reasons.append(f"decode head {type(head).__name__}: transformers has UPerHead only")
    elif list(head.in_index) != [0, 1, 2, 3] or head.channels != width:
        reasons.append(
            f"UPerHead in_index {head.in_index}, channels {head.channels}: transformers uses "
            f"the 4 levels in order and channels = backbone width {width}"
        )
    if isinstance(aux, nn.ModuleList) or (aux is not None and not isinstance(aux, FCNHead)):
        reasons.append("auxiliary head: transformers has one FCNHead only")
    elif aux is not None:
        convs, cat = _fcn_convs(aux)
        shapes = {(m.conv.kernel_size, m.conv.dilation) for m in [*convs, cat] if m is not None}
        if aux.in_index != 2 or not shapes <= {((3, 3), (1, 1))}:
            reasons.append(
                f"FCNHead in_index {aux.in_index}, (kernel, dilation) {sorted(shapes)}: "
                "transformers uses level 2 and 3x3 convolutions without dilation"
            )
    for part in (neck, head, aux):
        for name, module in part.named_modules() if part is not None else ():
            if isinstance(module, _BatchNorm) and module.eps != 1e-5:
                reasons.append(f"{name}: BatchNorm eps {module.eps}, transformers' is 1e-5")
            elif isinstance(module, (nn.GroupNorm, nn.LayerNorm)):
                reasons.append(f"{name}: {type(module).__name__}, transformers uses BatchNorm")
            elif part is not neck and isinstance(module, (nn.LeakyReLU, nn.GELU, nn.SiLU)):
                reasons.append(f"{name}: {type(module).__name__}, transformers uses ReLU")
    for part in (head, aux):
        if part is not None and (part.align_corners or part.out_channels != part.num_classes):
            reasons.append("heads: transformers needs align_corners=False and softmax classes")
    return reasons


def beit_config(segmentor: nn.Module, cfg: Config, classes: list[str]) -> tuple[dict, int]:
    """``BeitConfig`` arguments for ``segmentor``, and how many of the blocks are its own.

    Blocks are renumbered for transformers (block ``b`` is its ``out_indices`` entry ``b + 2``);
    when the last block is used, one block is appended (see
    :mod:`mmseg_beit.checkpoint.hf_export`). ``cfg`` gives the options the modules do not keep
    (layer-scale initial value, drop path).

    Raises:
        NotExpressible: With every reason transformers cannot express the model.
    """
    backbone, head = segmentor.backbone, segmentor.decode_head
    aux = getattr(segmentor, "auxiliary_head", None)
    reasons = _backbone_reasons(backbone)
    if not reasons:
        reasons = _head_reasons(segmentor.neck, head, aux, backbone.embed_dims)
    if not reasons and len(classes) != head.num_classes:
        reasons.append(f"{len(classes)} class names for {head.num_classes} classes")
    if reasons:
        raise NotExpressible("transformers cannot express this model: " + "; ".join(reasons))
    block = backbone.layers[0]
    backbone_cfg = cfg.model.get("module", cfg.model).backbone
    num_layers = backbone.num_layers
    hf_indices = [b + 2 for b in backbone.out_indices]
    config = dict(
        hidden_size=backbone.embed_dims,
        num_hidden_layers=max(num_layers, max(hf_indices)),
        num_attention_heads=block.attn.num_heads,
        intermediate_size=block.ffn.layers[0][0].out_features,
        hidden_act="gelu",
        layer_norm_eps=block.ln1.eps,
        image_size=backbone.img_size[0],
        patch_size=backbone.patch_size,
        num_channels=backbone.patch_embed.projection.in_channels,
        use_absolute_position_embeddings=backbone.pos_embed is not None,
        use_relative_position_bias=block.attn.relative_position_bias_table is not None,
        use_shared_relative_position_bias=False,
        layer_scale_init_value=float(backbone_cfg.get("init_values") or 0.1)
        if block.gamma_1 is not None
        else 0.0,
        drop_path_rate=float(backbone_cfg.get("drop_path_rate", 0.0)),
        out_indices=hf_indices,
        pool_scales=[m[0].output_size for m in head.psp_modules],
        use_auxiliary_head=aux is not None,
        semantic_loss_ignore_index=head.ignore_index,
        id2label={i: name for i, name in enumerate(classes)},
        label2id={name: i for i, name in enumerate(classes)},
    )
    if aux is not None:
        convs, cat = _fcn_convs(aux)
        config.update(
            auxiliary_channels=aux.channels,
            auxiliary_num_convs=len(convs),
            auxiliary_concat_input=cat is not None,
            auxiliary_loss_weight=float(aux.loss_decode.loss_weight),
        )
    return config, num_layers


def _reduce_zero_label(dataset: dict) -> bool:
    for step in dataset.get("pipeline", []):
        if step.get("type") == "LoadAnnotations" and step.get("reduce_zero_label") is not None:
            return bool(step["reduce_zero_label"])
    if dataset.get("reduce_zero_label") is not None:
        return bool(dataset["reduce_zero_label"])
    cls = DATASETS.get(dataset.get("type")) if dataset.get("type") else None
    default = inspect.signature(cls).parameters.get("reduce_zero_label") if cls else None
    return bool(default.default) if default is not None else False


def processor_config(segmentor: nn.Module, cfg: Config) -> dict:
    """``BeitImageProcessor`` arguments: resize to the training crop (bilinear), this model's
    mean / std on the 0..1 scale, ADE20K-style label reduction where the dataset uses it.

    Raises:
        NotExpressible: The model takes BGR images (transformers feeds RGB).
    """
    pre = segmentor.data_preprocessor
    if pre.mean.numel() == 3 and not pre.channel_conversion:
        raise NotExpressible(
            "transformers cannot express this model: it takes BGR images (bgr_to_rgb=False) "
            "and transformers feeds RGB"
        )
    side = segmentor.backbone.img_size[0]
    return dict(
        do_resize=True,
        size={"height": side, "width": side},
        resample=2,  # bilinear, mmseg's Resize
        do_center_crop=False,
        crop_size={"height": side, "width": side},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[float(m) / 255 for m in pre.mean.flatten()],
        image_std=[float(s) / 255 for s in pre.std.flatten()],
        do_reduce_labels=_reduce_zero_label(cfg.test_dataloader.dataset),
    )
