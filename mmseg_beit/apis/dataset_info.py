"""What a config's dataset is (its folders, its class names), and the checks that use it:
outputs never go into the dataset's folders; a checkpoint runs on the classes it was trained on.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmengine.config import Config

from mmseg_beit.registry import DATASETS


class ClassMismatchError(ValueError):
    """A checkpoint's class names differ from those of the dataset it is to run on."""


def dataset_config(cfg: Config, split: str = "test") -> dict | None:
    """The dataset config of a split's dataloader (None if the config has none)."""
    loader = cfg.get(f"{split}_dataloader") or {}
    dataset = loader.get("dataset")
    return dataset if isinstance(dataset, dict) else None


def dataset_folders(cfg: Config, split: str = "test") -> list[Path]:
    """The folders a split's dataset reads (images, labels), joined with ``data_root`` as
    MMSegmentation's datasets join them."""
    dataset = dataset_config(cfg, split) or {}
    root = dataset.get("data_root") or ""
    prefixes = (dataset.get("data_prefix") or {}).values()
    return [Path(root, p) if not os.path.isabs(p) else Path(p) for p in prefixes if p] or (
        [Path(root)] if root else []
    )


def config_classes(cfg: Config, split: str = "test") -> list[str] | None:
    """A split's class names: the dataset's ``metainfo``, else its registered class's."""
    dataset = dataset_config(cfg, split) or {}
    classes = (dataset.get("metainfo") or {}).get("classes")
    if classes is None and isinstance(dataset.get("type"), str):
        try:
            dataset_cls = DATASETS.get(dataset["type"])
        except KeyError:
            dataset_cls = None
        classes = getattr(dataset_cls, "METAINFO", {}).get("classes")
    return [str(c) for c in classes] if classes is not None else None


def checkpoint_classes(raw: dict) -> list[str] | None:
    """The class names a checkpoint was trained on (``meta``, mmseg 1.x or 0.x style)."""
    meta = raw.get("meta") if isinstance(raw, dict) else None
    if not isinstance(meta, dict):
        return None
    classes = (meta.get("dataset_meta") or {}).get("classes") or meta.get("CLASSES")
    return [str(c) for c in classes] if classes is not None else None


def _shown(classes: list[str]) -> str:
    return ", ".join(classes[:5]) + (", ..." if len(classes) > 5 else "")


def check_classes(
    checkpoint: str | os.PathLike, trained: list[str] | None, target: list[str] | None, where: str
) -> None:
    """Raises :class:`ClassMismatchError` if a checkpoint's classes differ from ``target``.

    Args:
        checkpoint: The checkpoint, for the message.
        trained: Its class names (None: not recorded, nothing to compare).
        target: The class names it is to run on (None: unknown).
        where: What ``target`` belongs to, e.g. "the test dataset of CONFIG".
    """
    if trained is None or target is None or list(trained) == list(target):
        return
    if len(trained) == len(target):
        i = next(i for i, (a, b) in enumerate(zip(trained, target)) if a != b)
        detail = f"class {i} is {trained[i]!r} there and {target[i]!r} here"
    else:
        detail = (
            f"{len(trained)} classes ({_shown(trained)}) against {len(target)} ({_shown(target)})"
        )
    raise ClassMismatchError(
        f"{checkpoint} was trained on other classes than {where}: {detail}; its scores would "
        "mean nothing (--allow-class-mismatch, or allow_class_mismatch=True, runs it anyway)"
    )
