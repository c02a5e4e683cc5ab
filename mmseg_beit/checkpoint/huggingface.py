"""Hugging Face BEiT / ViT checkpoints -> this package's segmentor keys.

Accepts both spellings: the legacy names that the hub files (and ``save_pretrained``) use,
``beit.encoder.layer.{i}.attention.attention.query``..., and the module names of transformers 5
in memory, ``beit.layers.{i}.attention.q_proj``.... Output keys carry the segmentor prefixes
``backbone.``, ``neck.``, ``decode_head.``, ``auxiliary_head.``.

Block selection differs: transformers feeds its neck ``hidden_states[i - 1]`` for ``i`` in its
``out_indices`` (``hidden_states[0]`` is the embedding output), i.e. 0-based block ``i - 2``;
unilm and mmseg use block ``i``. See :func:`transformers_blocks`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from mmseg_beit.checkpoint.loading import CheckpointError, load_file, state_dict_of

# transformers 5 module names -> legacy names (applied in order).
_V5_TO_LEGACY = (
    (r"^((?:beit|vit)\.)?layers\.(\d+)\.", r"\1encoder.layer.\2."),
    (r"(encoder\.layer\.\d+\.)attention\.q_proj\.", r"\1attention.attention.query."),
    (r"(encoder\.layer\.\d+\.)attention\.k_proj\.", r"\1attention.attention.key."),
    (r"(encoder\.layer\.\d+\.)attention\.v_proj\.", r"\1attention.attention.value."),
    (r"(encoder\.layer\.\d+\.)attention\.o_proj\.", r"\1attention.output.dense."),
    (r"(encoder\.layer\.\d+\.)mlp\.fc1\.", r"\1intermediate.dense."),
    (r"(encoder\.layer\.\d+\.)mlp\.fc2\.", r"\1output.dense."),
    (
        r"(encoder\.layer\.\d+\.)relative_position_bias\.",
        r"\1attention.attention.relative_position_bias.",
    ),
    (r"shared_position_bias\.", "encoder.relative_position_bias."),
    (r"^fpn\.fpn1\.conv_transpose1\.", "fpn1.0."),
    (r"^fpn\.fpn1\.normalization\.", "fpn1.1."),
    (r"^fpn\.fpn1\.conv_transpose2\.", "fpn1.3."),
    (r"^fpn\.fpn2\.", "fpn2.0."),
    (r"psp_modules\.blocks\.(\d+)\.conv\.", r"psp_modules.\1.1."),
    (r"psp_bottleneck\.", "bottleneck."),
    (r"\.convolution\.", ".conv."),
    (r"\.normalization\.", ".bn."),
)
# Legacy names -> ours.
_LEGACY_TO_OURS = (
    (r"^embeddings\.cls_token$", "backbone.cls_token"),
    (r"^embeddings\.position_embeddings$", "backbone.pos_embed"),
    (r"^embeddings\.patch_embeddings\.projection\.", "backbone.patch_embed.projection."),
    (
        r"^encoder\.layer\.(\d+)\.attention\.attention\.relative_position_bias\.",
        r"backbone.layers.\1.attn.",
    ),
    (r"^encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"backbone.layers.\1.attn.proj."),
    (r"^encoder\.layer\.(\d+)\.intermediate\.dense\.", r"backbone.layers.\1.ffn.layers.0.0."),
    (r"^encoder\.layer\.(\d+)\.output\.dense\.", r"backbone.layers.\1.ffn.layers.1."),
    (r"^encoder\.layer\.(\d+)\.layernorm_before\.", r"backbone.layers.\1.ln1."),
    (r"^encoder\.layer\.(\d+)\.layernorm_after\.", r"backbone.layers.\1.ln2."),
    (r"^encoder\.layer\.(\d+)\.lambda_(\d)$", r"backbone.layers.\1.gamma_\2"),
    (r"^fpn1\.", "neck.upsample_4x."),
    (r"^fpn2\.", "neck.upsample_2x."),
    (r"^(decode_head|auxiliary_head)\.classifier\.", r"\1.conv_seg."),
)
_HEADS = ("decode_head.", "auxiliary_head.")
_DROPPED = re.compile(
    r"relative_position_index$|^embeddings\.mask_token$|^(layernorm|pooler|lm_head|classifier)\."
)
_QKV = re.compile(
    r"^encoder\.layer\.(\d+)\.attention\.attention\.(query|key|value)\.(weight|bias)$"
)
_SHARED = "encoder.relative_position_bias.relative_position_bias_table"


def is_huggingface(state_dict: dict[str, torch.Tensor]) -> bool:
    """Whether the keys are Hugging Face BEiT / ViT names (either spelling)."""
    pattern = re.compile(r"^((beit|vit)\.)?(embeddings\.|encoder\.layer\.|layers\.\d+\.attention)")
    return any(pattern.match(k) for k in state_dict)


def _rename(key: str, rules: tuple) -> str:
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def _legacy_name(key: str) -> str:
    """The legacy name of either spelling, without the ``beit.`` / ``vit.`` prefix."""
    return re.sub(r"^(beit|vit)\.", "", _rename(key, _V5_TO_LEGACY))


def dropped_keys(state_dict: dict[str, torch.Tensor]) -> list[str]:
    """The keys :func:`convert_huggingface` leaves out (pooler, final norm, pre-training and
    classification heads, index buffers), as the source names them."""
    return [k for k in state_dict if _DROPPED.search(_legacy_name(k))]


def convert_huggingface(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Converts a Hugging Face BEiT / ViT state dict to prefixed segmentor keys.

    q, k and v projections are stacked into ``qkv.weight``; BEiT's q / v biases become
    ``q_bias`` / ``v_bias`` (it has no k bias), ViT's three become ``qkv.bias``; a shared
    relative table is copied into every block; pooler, final norm and pre-training heads drop.

    Raises:
        CheckpointError: If the keys are not Hugging Face BEiT / ViT names.
    """
    if not is_huggingface(state_dict):
        raise CheckpointError(
            f"not a Hugging Face BEiT / ViT checkpoint; keys: {list(state_dict)[:6]}"
        )
    legacy = {_legacy_name(key): value for key, value in state_dict.items()}
    out, qkv = {}, {}
    for key, value in legacy.items():
        match = _QKV.match(key)
        if match:
            layer, part, kind = match.groups()
            qkv.setdefault((int(layer), kind), {})[part] = value
        elif not _DROPPED.search(key) and key != _SHARED:
            renamed = _rename(key, _LEGACY_TO_OURS)
            if renamed == key and not key.startswith(_HEADS):
                raise CheckpointError(f"unknown Hugging Face key {key!r}")
            out[renamed] = value
    for (layer, kind), parts in sorted(qkv.items()):
        prefix = f"backbone.layers.{layer}.attn."
        if kind == "weight":
            out[prefix + "qkv.weight"] = torch.cat([parts["query"], parts["key"], parts["value"]])
        elif "key" in parts:  # ViT: bias on q, k and v
            out[prefix + "qkv.bias"] = torch.cat([parts["query"], parts["key"], parts["value"]])
        else:  # BEiT: q and v only
            out[prefix + "q_bias"], out[prefix + "v_bias"] = parts["query"], parts["value"]
    if _SHARED in legacy:
        for layer in sorted({layer for layer, _ in qkv}):
            out[f"backbone.layers.{layer}.attn.relative_position_bias_table"] = legacy[
                _SHARED
            ].clone()
    return out


def convert_huggingface_backbone(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Only the backbone part of :func:`convert_huggingface`, without the prefix."""
    converted = convert_huggingface(state_dict)
    return {
        k.removeprefix("backbone."): v for k, v in converted.items() if k.startswith("backbone.")
    }


def transformers_blocks(out_indices: list[int]) -> list[int]:
    """0-based blocks that transformers feeds its neck for its config's ``out_indices``."""
    return [i - 2 for i in out_indices]


def read_huggingface(source: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Reads a ``save_pretrained`` directory or a ``.safetensors`` / ``.bin`` file (+ config).

    Returns:
        The state dict and the ``config.json`` beside it ({} when there is none).
    """
    source = Path(source)
    folder = source if source.is_dir() else source.parent
    if source.is_dir():
        files = [
            source / n for n in ("model.safetensors", "pytorch_model.bin") if (source / n).is_file()
        ]
        if not files:
            raise CheckpointError(f"{source}: no model.safetensors or pytorch_model.bin inside")
        source = files[0]
    state = state_dict_of(load_file(source), source)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    return state, config


def our_key(key: str) -> tuple[str, int | None] | None:
    """Where one Hugging Face BEiT key (either spelling) goes in this package's segmentor.

    Reads the same tables as :func:`convert_huggingface`, so the export to transformers
    (:mod:`mmseg_beit.checkpoint.hf_export`) is their inverse.

    Returns:
        (our key, part) with part 0 / 1 / 2 for the q / k / v thirds of ``qkv.weight`` and None
        otherwise (q / v biases are BEiT's ``q_bias`` / ``v_bias``); None for a dropped key.
    """
    legacy = _legacy_name(key)
    match = _QKV.match(legacy)
    if match:
        layer, part, kind = match.groups()
        index = ("query", "key", "value").index(part)
        prefix = f"backbone.layers.{layer}.attn."
        if kind == "weight":
            return prefix + "qkv.weight", index
        return prefix + ("q_bias", "k_bias", "v_bias")[index], None
    if _DROPPED.search(legacy) or legacy == _SHARED:
        return None
    return _rename(legacy, _LEGACY_TO_OURS), None
