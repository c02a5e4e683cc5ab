"""A fine-tuning config for your own images and masks, from any shipped recipe and checkpoint."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmseg_beit.apis.config import is_tta_model, load_config
from mmseg_beit.apis.weights_check import check_weights, train_from_scratch
from mmseg_beit.checkpoint import load_file, save_checkpoint, state_dict_of
from mmseg_beit.datasets.folder import scan_folders, split_names
from mmseg_beit.datasets.mask_labels import plan_labels
from mmseg_beit.registry import MODELS
from mmseg_beit.utils.io import atomic_path

# Top-level keys read besides the Runner's arguments (multi-scale test, imports, mmseg's tools).
RUN_KEYS = {"tta_model", "tta_pipeline", "custom_imports", "runner_type"}
METAINFO = "__metainfo__"  # stands for the config's one ``metainfo`` variable


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


def _packed(items: list, indent: str = "        ", width: int = 99) -> str:
    """``repr`` of the items, as many to a line as fit."""
    lines, line = [], indent
    for item in map(repr, items):
        if len(line) + len(item) + 2 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += item + ", "
    return "\n".join([*lines, line.rstrip()])


def _metainfo_text(classes: list[str], palette: list | None) -> str:
    """``metainfo = dict(classes=[...], palette=[...])``, many to a line (the config's
    dataloaders name it; written out by mmengine, 150 classes take 1,000 lines each time)."""
    text = f"metainfo = dict(\n    classes=[\n{_packed(classes)}\n    ],\n"
    if palette:
        text += f"    palette=[\n{_packed(palette)}\n    ],\n"
    return text + ")\n"


def used_keys(cfg: Config) -> Config:
    """The config without the top-level variables nothing reads once it is resolved (the
    recipe's ``data_root``, ``dataset_type``, pipelines and sizes already copied into the
    dataloaders): only what mmengine's Runner, MMSegmentation's tools and this package read."""
    keep = set(inspect.signature(Runner.__init__).parameters) - {"self", "cfg"} | RUN_KEYS
    if "data_preprocessor" in cfg.model:  # the model's own wins over the top-level one
        keep.discard("data_preprocessor")
    return Config({key: cfg[key] for key in cfg if key in keep}, filename=cfg.filename)


def finetune_config(
    images: str | os.PathLike,
    masks: str | os.PathLike,
    out: str | os.PathLike,
    recipe: str = "upernet_beit-base_8x2_640x640_160k_ade20k",
    classes: str | None = None,
    zero_label: str | None = None,
    checkpoint: str | None = None,
    val_fraction: float = 0.1,
    from_scratch: bool = False,
) -> list[str]:
    """Writes a config training ``recipe`` on the image / mask folders; returns a report.

    Args:
        classes: Class names: a file, a comma-separated list, ``ade20k`` or ``numbered``
            (see :func:`~mmseg_beit.datasets.mask_labels.plan_labels`).
        zero_label: ``"ignore"`` (0 = unlabeled, ADE20K), ``"class"``, or None to decide from
            the names, or refuse.
        from_scratch: No pretrained backbone (``model.backbone.init_cfg=None``).

    Raises:
        ValueError: No pairs, bad masks, no or too few class names, an undecided meaning of 0,
            a bad split fraction.
        FileNotFoundError: The checkpoint, or a weight file the recipe needs, is missing.
    """
    out = Path(out)
    if out.suffix != ".py":
        raise ValueError(f"{out}: the config must end in .py")
    if checkpoint and from_scratch:
        raise ValueError("--checkpoint and --from-scratch: choose one")
    if checkpoint and not Path(checkpoint).is_file():  # before any file is written
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint file")
    found = scan_folders(images, masks)
    plan = plan_labels(found, classes, zero_label)
    train, val = split_names(found.names, val_fraction)
    cfg = load_config(recipe)
    segmentor = cfg.model.module if is_tta_model(cfg.model) else cfg.model
    segmentor.decode_head.num_classes = len(plan.classes)
    if segmentor.get("auxiliary_head"):
        segmentor.auxiliary_head.num_classes = len(plan.classes)
    lines = [
        f"{len(found.names)} pairs, {len(plan.classes)} classes; "
        f"train {len(train)}, val {len(val)}",
        *plan.notes,
    ]
    if from_scratch:
        lines.append(train_from_scratch(cfg))
    if not checkpoint:
        check_weights(cfg, "prepare-data")  # before any file is written
    lists = {
        split: out.with_name(f"{out.stem}_{split}.txt").resolve() for split in ("train", "val")
    }
    for split, loader in (("train", "train_dataloader"), ("val", "val_dataloader")):
        dataset = cfg[loader].dataset
        _set_reduce_zero_label(dataset.pipeline, plan.zero_is_ignore)
        dataset.update(
            type="BaseSegDataset",
            data_root="",
            data_prefix=dict(
                img_path=str(found.images.resolve()), seg_map_path=str(found.masks.resolve())
            ),
            ann_file=str(lists[split]),
            img_suffix=found.img_suffix,
            seg_map_suffix=".png",
            reduce_zero_label=plan.zero_is_ignore,
            metainfo=METAINFO,  # written once, at the top
        )
    cfg.test_dataloader = cfg.val_dataloader
    _set_reduce_zero_label(cfg.get("tta_pipeline", []), plan.zero_is_ignore)
    if checkpoint:
        lines += _start_checkpoint(cfg, checkpoint, out)
    for split, names in (("train", train), ("val", val)):
        with atomic_path(lists[split]) as tmp:
            tmp.write_text("\n".join(names) + "\n")
    zero = "0 = unlabeled (ignored)" if plan.zero_is_ignore else f"0 = {plan.classes[0]!r}"
    header = (
        f"# Fine-tuning {Path(recipe).stem} on {found.images} / {found.masks}\n"
        f"# (mmseg-beit prepare-data): {len(plan.classes)} classes, {zero}. The recipe resolved,\n"
        "# with only the keys a run reads; change it here or with --cfg-options.\n"
    )
    with atomic_path(out) as tmp:
        text = used_keys(cfg).pretty_text.replace(repr(METAINFO), "metainfo")
        tmp.write_text(header + _metainfo_text(plan.classes, plan.palette) + text)
    lines.append(f"wrote {out}; train with: mmseg-beit train {out}")
    return lines
