"""The weight files a config needs (pretrained backbone, ``load_from``), checked before a run."""

from __future__ import annotations

from pathlib import Path

from mmengine.config import Config

from mmseg_beit.apis.config import is_tta_model
from mmseg_beit.checkpoint import CheckpointNotFoundError

UNILM = "https://github.com/addf400/files/releases/download/v1.0"
# File name -> where the official file comes from (the configs name them; docs/checkpoints.md).
OFFICIAL = {
    "beit_base_patch16_224_pt22k_ft22k.pth": f"{UNILM}/beit_base_patch16_224_pt22k_ft22k.pth",
    "beit_large_patch16_224_pt22k_ft22k.pth": f"{UNILM}/beit_large_patch16_224_pt22k_ft22k.pth",
    "vit-large-p16-in21k.pth": "the Hugging Face hub: google/vit-large-patch16-224-in21k",
}
SOURCE_NAME = {"vit-large-p16-in21k.pth": "google/vit-large-patch16-224-in21k"}


class MissingWeightsError(CheckpointNotFoundError):
    """Files a config needs are missing (a ``FileNotFoundError`` too)."""


def needed_weights(cfg: Config) -> list[tuple[str, str]]:
    """(config key, path) of every local weight file the config reads: pretrained inits
    anywhere in the model, the deprecated ``model.pretrained`` and ``load_from``."""
    found = []

    def walk(node: object, key: str) -> None:
        if isinstance(node, dict):
            init = node.get("init_cfg")
            for i, item in enumerate(init if isinstance(init, list) else [init]):
                if isinstance(item, dict) and isinstance(item.get("checkpoint"), str):
                    where = f"{key}.init_cfg" + (f"[{i}]" if isinstance(init, list) else "")
                    found.append((f"{where}.checkpoint", item["checkpoint"]))
            if isinstance(node.get("pretrained"), str):
                found.append((f"{key}.pretrained", node["pretrained"]))
            for name, value in node.items():
                if name != "init_cfg" and isinstance(value, dict):
                    walk(value, f"{key}.{name}")

    walk(cfg.model, "model")
    if cfg.get("load_from"):
        found.append(("load_from", str(cfg.load_from)))
    return [(key, path) for key, path in found if "://" not in path]


def _how_to_get(key: str, path: str) -> str:
    name = Path(path).name
    if key == "load_from":
        return (
            "    load_from names a whole segmentor: a training run's iter_N.pth, or weights "
            f"converted with: mmseg-beit convert SOURCE {path}"
        )
    if name not in OFFICIAL:
        return (
            f"    it is not an official file this package knows: see docs/checkpoints.md for "
            f"the files it reads, and prepare yours with: mmseg-beit convert SOURCE {path}"
        )
    return (
        f"    official file: {OFFICIAL[name]}\n"
        f"    prepare it with: mmseg-beit convert {SOURCE_NAME.get(name, name)} {path}"
    )


def check_weights(cfg: Config, command: str) -> None:
    """Raises one error naming every missing weight file, where each official one comes from,
    the ``convert`` command that prepares it and ``--from-scratch``.

    Raises:
        MissingWeightsError: If any file is missing (relative paths from the working folder,
            as the run reads them).
    """
    missing = [(key, path) for key, path in needed_weights(cfg) if not Path(path).is_file()]
    if not missing:
        return
    lines = [f"the config needs {len(missing)} weight file(s) that are not there:"]
    for key, path in missing:
        lines += [f"  {key} = {path}: no such file", _how_to_get(key, path)]
    if all(key != "load_from" for key, _ in missing):  # pretrained inits: --from-scratch
        lines.append(
            f"  or train without pretrained weights: mmseg-beit {command} ... --from-scratch "
            "(random backbone; expect a far lower mIoU)"
        )
    lines.append("  (docs/finetune.md walks through both; docs/checkpoints.md lists the files)")
    raise MissingWeightsError("\n".join(lines))


def train_from_scratch(cfg: Config) -> str:
    """Drops the backbone's pretrained init (``model.backbone.init_cfg=None``); returns what
    was dropped, for the log."""
    segmentor = cfg.model.module if is_tta_model(cfg.model) else cfg.model
    before = segmentor.backbone.get("init_cfg")
    segmentor.backbone.init_cfg = None
    segmentor.pop("pretrained", None)  # mmseg's deprecated spellings of the same init
    segmentor.backbone.pop("pretrained", None)
    checkpoint = before.get("checkpoint") if isinstance(before, dict) else None
    return (
        "training from scratch: model.backbone.init_cfg=None "
        + (f"(instead of {checkpoint})" if checkpoint else "(it had no pretrained weights)")
        + "; the backbone starts from random weights"
    )
