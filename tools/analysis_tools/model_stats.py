"""Parameters and FLOPs of a config's segmentor, per part, as a table.

    python tools/analysis_tools/model_stats.py CONFIG [--shape H W] [--cfg-options K=V ...]

FLOPs are counted by ``torch.utils.flop_counter`` on one image of H x W (default: the config's
test crop) through backbone, neck and decode head (the auxiliary head runs in training only),
with plain convolutions (no speed preset); a multiply-add counts as 2 FLOPs.
"""

from __future__ import annotations

import argparse
import sys

import torch
from mmengine.config import DictAction


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters()) if module is not None else 0


def part_flops(segmentor: torch.nn.Module, x: torch.Tensor) -> dict[str, int]:
    """FLOPs of the inference forward on ``x``: backbone, neck and decode head, counted by
    ``torch.utils.flop_counter`` (what the segmentor executes, e.g. fewer with Winograd)."""
    from torch.utils.flop_counter import FlopCounterMode

    flops = {}
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            features = segmentor.backbone(x)
        flops["backbone"] = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            pyramid = segmentor.neck(features)
        flops["neck"] = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            segmentor.decode_head(pyramid)
        flops["decode_head"] = counter.get_total_flops()
    return flops


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("--shape", type=int, nargs=2, metavar=("H", "W"))
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE")
    args = parser.parse_args()

    from mmseg_beit.apis import load_config, load_segmentor

    cfg = load_config(args.config, args.cfg_options)
    (cfg.model.get("module") or cfg.model).speed = "off"  # the model's FLOPs, not Winograd's
    model = load_segmentor(cfg)
    segmentor = getattr(model, "module", model)
    shape = args.shape or tuple(segmentor.test_cfg.get("crop_size", (512, 512)))
    flops = part_flops(segmentor, torch.zeros(1, 3, *shape))
    rows = []
    for part in ("backbone", "neck", "decode_head", "auxiliary_head"):
        module = getattr(segmentor, part, None)
        rows.append((part, _count(module), flops.get(part)))
    total_flops = sum(f for _, _, f in rows if f)
    print(f"{args.config}, one {shape[0]} x {shape[1]} image")
    print(f"{'part':<16}{'parameters':>14}{'GFLOPs':>12}")
    for part, params, count in rows:
        shown = f"{count / 1e9:12.2f}" if count is not None else f"{'(training)':>12}"
        print(f"{part:<16}{params / 1e6:13.2f}M{shown}")
    print(f"{'total':<16}{_count(segmentor) / 1e6:13.2f}M{total_flops / 1e9:12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
