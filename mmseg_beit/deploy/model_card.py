"""The ``README.md`` model card of a folder exported for transformers."""

from __future__ import annotations

from pathlib import Path


def logged_miou(raw: dict) -> dict[str, float]:
    """The mIoU a training checkpoint logged: the last validation before it was saved
    (``val/mIoU`` in its message hub) and the best one (``best_score``, with ``save_best``)."""
    hub = raw.get("message_hub") if isinstance(raw, dict) else None
    if not isinstance(hub, dict):
        return {}
    found = {}
    buffer = hub.get("log_scalars", {}).get("val/mIoU")
    if buffer is not None and hasattr(buffer, "current"):
        found["last validation"] = float(buffer.current())
    best = hub.get("runtime_info", {}).get("best_score")
    if isinstance(best, (int, float)):
        found["best validation"] = float(best)
    return found


def model_card(
    checkpoint: Path, out: Path, config: dict, processor: dict, miou: dict, meta: dict
) -> str:
    """Markdown for the folder ``out``: what the model is, its classes, the logged mIoU and
    how to load it both ways."""
    classes = list(config["id2label"].values())
    size = processor["size"]["height"]
    blocks = [i - 2 for i in config["out_indices"]]
    scores = "; ".join(f"{k}: {v:.2f}" for k, v in miou.items()) or "none in the checkpoint"
    iteration = f", iteration {meta['iter']}" if "iter" in meta else ""
    num_layers = config["mmseg_beit"]["num_layers"]
    extra = config["num_hidden_layers"] - num_layers
    appended = (
        f" transformers cannot feed its neck the last block, so the export appends {extra} "
        "all-zero block (an identity, never fed to the neck)."
        if extra
        else ""
    )
    mean = [round(m, 4) for m in processor["image_mean"]]
    std = [round(v, 4) for v in processor["image_std"]]
    aux = "an auxiliary FCN head" if config["use_auxiliary_head"] else "no auxiliary head"
    return f"""---
library_name: transformers
pipeline_tag: image-segmentation
tags: [beit, upernet, semantic-segmentation, mmseg-beit]
---

# BEiT UPerNet exported by mmseg-beit

Exported from `{checkpoint.name}`{iteration} with
`mmseg-beit export CHECKPOINT OUT_DIR --format huggingface`. The config it was trained with is
in `config.json` under `mmseg_beit.cfg`.

- BEiT: {num_layers} blocks, width {config["hidden_size"]}, \
{config["num_attention_heads"]} heads, patch {config["patch_size"]}, trained on {size} x {size} \
crops. The neck takes blocks {blocks} (0-based); transformers' `out_indices` \
{config["out_indices"]} name the same blocks.{appended}
- UPerHead, pooling scales {config["pool_scales"]}; {aux}.
- mIoU logged during training: {scores}.
- {len(classes)} classes: {", ".join(classes)}.
- Preprocessing (`preprocessor_config.json`): resize to {size} x {size}, mean {mean}, \
std {std} (0..1 scale); labels reduced by one (ADE20K style): {processor["do_reduce_labels"]}.

## Load with transformers

```python
from transformers import BeitForSemanticSegmentation, pipeline

model = BeitForSemanticSegmentation.from_pretrained("USER/MODEL")  # or the local folder
segmenter = pipeline("image-segmentation", model="USER/MODEL")
masks = segmenter("image.jpg")  # one mask per class present
```

The pipeline resizes the whole image to {size} x {size}. The model also takes other sizes
(multiples of {config["patch_size"]}) as they are: transformers resamples the position tables
(`interpolate_pos_encoding` is not needed). The mIoU above is the validation during training,
with the config's test scale and sliding windows; one resized window may score differently.

## Upload

```bash
hf upload USER/MODEL {out} .   # older clients: huggingface-cli upload USER/MODEL {out} .
```

or `huggingface_hub.HfApi().upload_folder(repo_id="USER/MODEL", folder_path="{out}")`.

## Back to mmseg-beit

```bash
mmseg-beit convert {out} model.pth      # the same tensors and config as the original
```

```python
from mmseg_beit.apis import load_segmentor, segment
model = load_segmentor("model.pth")
```
"""
