"""Layer-wise learning-rate decay for BEiT / ViT, with weight decay only where it belongs."""

from __future__ import annotations

import re

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmseg_beit.registry import OPTIM_WRAPPER_CONSTRUCTORS

# Parameters that never get weight decay, besides every 1-D tensor (biases, norms, gammas).
_NO_DECAY = ("cls_token", "pos_embed", "mask_token", "relative_position_bias_table")


def layer_id(name: str, num_layers: int) -> int:
    """0 for the embeddings, i + 1 for block i, ``num_layers + 1`` for everything else."""
    if name.startswith(("backbone.cls_token", "backbone.pos_embed", "backbone.mask_token")):
        return 0
    if name.startswith("backbone.patch_embed"):
        return 0
    match = re.match(r"backbone\.layers\.(\d+)\.", name)
    if match:
        return int(match.group(1)) + 1
    return num_layers + 1


def has_weight_decay(name: str, param: nn.Parameter) -> bool:
    """False for 1-D tensors, biases, tokens, position embeddings and relative tables."""
    return param.ndim > 1 and not name.endswith(".bias") and not any(k in name for k in _NO_DECAY)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups with learning rate ``base_lr * decay ** (L + 1 - layer_id)``.

    Embeddings get ``decay ** (L + 1)``, block i ``decay ** (L - i)``, neck and heads 1.
    ``paramwise_cfg`` keys: ``num_layers`` (L; default: the backbone's), ``layer_decay_rate``,
    and ``custom_keys`` as in mmengine (``{substring: dict(lr_mult=, decay_mult=)}``, the longest
    matching key wins), applied on top.
    """

    def add_params(self, params: list, module: nn.Module, **kwargs) -> None:
        cfg = dict(self.paramwise_cfg)
        num_layers = cfg.get("num_layers") or module.backbone.num_layers
        rate = cfg.get("layer_decay_rate", 1.0)
        custom = cfg.get("custom_keys", {})
        custom_order = sorted(sorted(custom), key=len, reverse=True)
        groups: dict[tuple, dict] = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            lid = layer_id(name, num_layers)
            decay = has_weight_decay(name, param)
            key_match = next((k for k in custom_order if k in name), None)
            lr_mult = custom[key_match].get("lr_mult", 1.0) if key_match else 1.0
            decay_mult = custom[key_match].get("decay_mult", 1.0) if key_match else 1.0
            group_key = (lid, decay, key_match)
            if group_key not in groups:
                scale = rate ** (num_layers + 1 - lid)
                groups[group_key] = dict(
                    params=[],
                    param_names=[],
                    lr=self.base_lr * scale * lr_mult,
                    weight_decay=self.base_wd * decay_mult if decay else 0.0,
                    lr_scale=scale * lr_mult,
                    layer_id=lid,
                )
            groups[group_key]["params"].append(param)
            groups[group_key]["param_names"].append(name)
        params.extend(groups[k] for k in sorted(groups, key=lambda k: (k[0], not k[1], str(k[2]))))
        self._log(params, num_layers, rate)

    @staticmethod
    def _log(groups: list[dict], num_layers: int, rate: float) -> None:
        lines = [f"layer decay {rate} over {num_layers} layers: {len(groups)} groups"]
        lines.append(f"{'layer':>5} {'lr scale':>9} {'wd':>7} {'tensors':>7} {'numel':>10}")
        for group in groups:
            numel = sum(p.numel() for p in group["params"])
            lines.append(
                f"{group['layer_id']:>5} {group['lr_scale']:>9.4g} {group['weight_decay']:>7.3g}"
                f" {len(group['params']):>7} {numel:>10}"
            )
        print_log("\n".join(lines), "current")
