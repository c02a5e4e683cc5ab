"""One conversion entry point: detects the source (official, mmpretrain, Hugging Face, hub id)
and writes this package's checkpoint, all or nothing."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mmseg_beit.checkpoint.hf_config import backbone_config, dataset_meta, run_config
from mmseg_beit.checkpoint.hf_export import EXPORT_KEY, from_export
from mmseg_beit.checkpoint.huggingface import (
    convert_huggingface,
    dropped_keys,
    is_huggingface,
    read_huggingface,
)
from mmseg_beit.checkpoint.loading import (
    CheckpointError,
    CheckpointNotFoundError,
    load_file,
    save_checkpoint,
    state_dict_of,
)
from mmseg_beit.checkpoint.official import (
    backbone_meta,
    convert_backbone,
    count_parts,
    describe,
    detect_format,
)
from mmseg_beit.utils.io import atomic_path, check_not_input

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def resolve_source(src: str | os.PathLike) -> Path:
    """A local path for ``src``; a Hugging Face hub id is looked up in the local cache.

    Raises:
        CheckpointError: If ``src`` is neither a path nor a cached hub id, saying what to do.
    """
    path = Path(src)
    if path.exists() or not _HUB_ID.match(str(src)):
        if not path.exists():
            raise CheckpointNotFoundError(f"{src}: no such file or folder")
        return path
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise CheckpointError(
            f"{src}: looks like a Hugging Face hub id; install huggingface_hub to read it from "
            "the local cache, or pass the model's folder"
        ) from None
    try:
        return Path(snapshot_download(str(src), local_files_only=True))
    except Exception as error:  # LocalEntryNotFoundError, RepositoryNotFoundError, ...
        raise CheckpointError(
            f"{src}: not in the local Hugging Face cache ({type(error).__name__}); download it "
            f"with `hf download {src}` where there is internet (HF_HOME points at the cache), "
            "or pass its folder"
        ) from None


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    config_out: str | os.PathLike | None = None,
    blocks: str = "unilm",
    grid: tuple[int, int] | None = None,
    backbone_only: bool = False,
) -> list[str]:
    """Converts ``src`` to ``dst`` (and, for Hugging Face models, its config to ``config_out``).

    A whole segmentor (this package's or mmseg's training checkpoint, a Hugging Face
    segmentation model) stays whole unless ``backbone_only``; the summary counts what is
    dropped, by part.

    Returns:
        Lines describing what was read and written.

    Raises:
        CheckpointError: Unreadable or unknown source, an output that is an input, a bad suffix.
    """
    path = resolve_source(src)
    raw = None if path.is_dir() else load_file(path)
    state = None if raw is None else state_dict_of(raw, path)
    if state is None or is_huggingface(state):
        return _convert_huggingface(path, Path(dst), config_out, blocks, backbone_only)
    if config_out:
        raise CheckpointError("--config-out applies to Hugging Face models only")
    if detect_format(state) == "mmseg-segmentor" and not backbone_only:
        return _copy_segmentor(path, Path(dst), raw, state)
    conversion = convert_backbone(state, grid=tuple(grid) if grid else None)
    save_checkpoint(conversion.state_dict, backbone_meta(conversion, path), dst, inputs=(path,))
    only = " (--backbone-only)" if conversion.source_format == "mmseg-segmentor" else ""
    return [describe(conversion) + only, f"wrote {dst}"]


def _copy_segmentor(src: Path, dst: Path, raw: dict, state: dict) -> list[str]:
    """A whole segmentor, every tensor and the meta (config, classes) kept."""
    meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
    meta = dict(meta, converted_from=str(src), source_format="mmseg-segmentor")
    save_checkpoint(state, meta, dst, inputs=(src,))
    carries = (
        "carries its config" if "cfg" in meta else "no config inside: load it with a config file"
    )
    training = [k for k in ("optimizer", "param_schedulers", "message_hub") if k in raw]
    left = f"; training state not copied ({', '.join(training)})" if training else ""
    return [
        f"mmseg-segmentor checkpoint, whole segmentor: {len(state)} tensors kept "
        f"({count_parts(list(state))}), 0 dropped; {carries}{left} (--backbone-only for the "
        "backbone alone)",
        f"wrote {dst}",
    ]


def _convert_huggingface(
    src: Path, dst: Path, config_out: str | os.PathLike | None, blocks: str, backbone_only: bool
) -> list[str]:
    state, config = read_huggingface(src)
    folder = src if src.is_dir() else src.parent
    inputs = (folder / "model.safetensors", folder / "pytorch_model.bin", folder / "config.json")
    inputs += (src,)
    converted = convert_huggingface(state)
    exported = config.get(EXPORT_KEY)
    if exported:  # written by `mmseg-beit export --format huggingface`: its own blocks back
        converted = from_export(converted, exported)
        blocks = f"{exported['out_indices']} (as exported)"
    dropped = dropped_keys(state)
    full = any(k.startswith("decode_head.") for k in converted)
    if full and backbone_only:
        if config_out:
            raise CheckpointError("--config-out describes a whole segmentor, not --backbone-only")
        dropped += [k for k in converted if not k.startswith("backbone.")]
        full = False
    if not full:
        converted = {
            key.removeprefix("backbone."): value
            for key, value in converted.items()
            if key.startswith("backbone.")
        }
    meta = {"converted_from": str(src), "huggingface_architectures": config.get("architectures")}
    try:
        if config and not exported:
            meta["backbone"] = backbone_config(config, blocks)
            meta["transformers_out_indices"] = config.get("out_indices")
            size, patch = meta["backbone"]["img_size"], meta["backbone"]["patch_size"]
            size = (size, size) if isinstance(size, int) else size
            meta["relative_position_grid"] = [size[0] // patch, size[1] // patch]
        cfg_text = None
        if full and exported:  # the config and classes it was exported with
            cfg_text = meta["cfg"] = exported["cfg"]
            meta["dataset_meta"] = exported["dataset_meta"]
        elif full:
            if not config:
                raise CheckpointError("no config.json beside it, cannot describe the model")
            meta["dataset_meta"] = dataset_meta(config)
            cfg_text = run_config(config, folder, blocks).pretty_text
            meta["cfg"] = cfg_text
        elif config_out:
            raise CheckpointError("--config-out needs a segmentation model (a backbone here)")
    except ValueError as error:  # CheckpointError too
        raise CheckpointError(f"{src}: {error}") from error
    shown = ", ".join(dropped[:6]) + (" ..." if len(dropped) > 6 else "")
    by_part = f"{count_parts(dropped)}: " if backbone_only and dropped else ""
    lines = [
        f"{config.get('architectures')}: {'segmentor' if full else 'backbone'}"
        f"{' (--backbone-only)' if backbone_only else ''}, {len(converted)} tensors kept, "
        f"{len(dropped)} dropped ({by_part}{shown or 'none'}), blocks {blocks}"
    ]
    if config_out:
        check_not_input(config_out, *inputs)
        with atomic_path(config_out) as tmp:  # renamed only if the checkpoint is written too
            tmp.write_text(cfg_text)
            save_checkpoint(converted, meta, dst, inputs=inputs)
        lines.append(f"wrote {dst} and {config_out}")
    else:
        save_checkpoint(converted, meta, dst, inputs=inputs)
        lines.append(f"wrote {dst}")
    return lines
