"""A fine-tuning config for your own images and masks, from any shipped recipe and checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg_beit.apis.config import is_tta_model, load_config
from mmseg_beit.checkpoint import load_file, save_checkpoint, state_dict_of
from mmseg_beit.datasets.folder import scan_folders, split_names
from mmseg_beit.registry import MODELS
from mmseg_beit.utils.io import atomic_path


def _classes(classes_file: str | None, count: int) -> list[str]:
    if classes_file is None:
        return [f"class{i}" for i in range(count)]
    names = [line.strip() for line in Path(classes_file).read_text().splitlines() if line.strip()]
    if len(names) < count:
        raise ValueError(f"{classes_file}: {len(names)} names, but the masks use {count} classes")
    return names


def _set_reduce_zero_label(steps: list, value: bool) -> None:
    for step in steps:
        if step.get("type") == "LoadAnnotations":
            step["reduce_zero_label"] = value
        for inner in step.get("transforms", []):  # TestTimeAug's alternatives
            _set_reduce_zero_label(inner, value)


def _start_checkpoint(cfg: Config, checkpoint: str, out: Path) -> list[str]:
    """Points the config at ``checkpoint``: a backbone as its pretrained init; a segmentor as
    ``load_from``, without the tensors that do not fit (listed)."""
    segmentor = cfg.model.module if is_tta_model(cfg.model) else cfg.model
    raw = load_file(checkpoint)
    state = state_dict_of(raw, checkpoint)
    if not any(k.startswith(("decode_head.", "module.decode_head.")) for k in state):
        segmentor.backbone.init_cfg = dict(type="Pretrained", checkpoint=str(checkpoint))
        return [f"backbone initialised from {checkpoint}"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    segmentor.backbone.init_cfg = None
    init_default_scope(cfg.get("default_scope", "mmseg_beit"))
    own = MODELS.build(dict(segmentor, speed="off")).state_dict()
    kept = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(k for k in state if k not in kept)
    missing = sorted(k for k in own if k not in kept and not k.endswith("_index"))
    start = out.with_name(f"{out.stem}_start.pth")
    save_checkpoint(kept, {"started_from": str(checkpoint)}, start, inputs=(checkpoint,))
    cfg.load_from = str(start.resolve())
    lines = [f"starting from {checkpoint}: {len(kept)} tensors kept in {start}"]
    lines += [f"  skipped (learnt anew): {key} {tuple(state[key].shape)}" for key in skipped]
    lines += [f"  new: {key}" for key in missing if key not in skipped]
    return lines


def finetune_config(
    images: str | os.PathLike,
    masks: str | os.PathLike,
    out: str | os.PathLike,
    recipe: str = "upernet_beit-base_8x2_640x640_160k_ade20k",
    classes_file: str | None = None,
    checkpoint: str | None = None,
    val_fraction: float = 0.1,
    zero_is_ignore: bool = False,
) -> list[str]:
    """Writes a config training ``recipe`` on the image / mask folders; returns a report.

    Raises:
        ValueError: No pairs, bad masks, too few class names, a bad split fraction.
    """
    out = Path(out)
    if out.suffix != ".py":
        raise ValueError(f"{out}: the config must end in .py")
    if checkpoint and not Path(checkpoint).is_file():  # before any file is written
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint file")
    found = scan_folders(images, masks)
    count = found.num_classes - 1 if zero_is_ignore else found.num_classes
    classes = _classes(classes_file, count)
    palette = np.random.default_rng(0).integers(0, 256, (len(classes), 3)).tolist()
    train, val = split_names(found.names, val_fraction)
    cfg = load_config(recipe)
    segmentor = cfg.model.module if is_tta_model(cfg.model) else cfg.model
    segmentor.decode_head.num_classes = len(classes)
    if segmentor.get("auxiliary_head"):
        segmentor.auxiliary_head.num_classes = len(classes)
    lists = {}
    for split, names in (("train", train), ("val", val)):
        lists[split] = out.with_name(f"{out.stem}_{split}.txt").resolve()
        with atomic_path(lists[split]) as tmp:
            tmp.write_text("\n".join(names) + "\n")
    for split, loader in (("train", "train_dataloader"), ("val", "val_dataloader")):
        dataset = cfg[loader].dataset
        _set_reduce_zero_label(dataset.pipeline, zero_is_ignore)
        dataset.update(
            type="BaseSegDataset",
            data_root="",
            data_prefix=dict(
                img_path=str(found.images.resolve()), seg_map_path=str(found.masks.resolve())
            ),
            ann_file=str(lists[split]),
            img_suffix=found.img_suffix,
            seg_map_suffix=".png",
            reduce_zero_label=zero_is_ignore,
            metainfo=dict(classes=classes, palette=palette),
        )
    cfg.test_dataloader = cfg.val_dataloader
    _set_reduce_zero_label(cfg.get("tta_pipeline", []), zero_is_ignore)
    lines = [
        f"{len(found.names)} pairs, {len(classes)} classes; train {len(train)}, val {len(val)}"
    ]
    if checkpoint:
        lines += _start_checkpoint(cfg, checkpoint, out)
    header = f"# Fine-tuning {Path(recipe).stem} on {found.images} / {found.masks}.\n"
    with atomic_path(out) as tmp:
        tmp.write_text(header + cfg.pretty_text)
    lines.append(f"wrote {out}; train with: mmseg-beit train {out}")
    return lines
