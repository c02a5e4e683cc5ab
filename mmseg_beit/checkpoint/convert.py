"""One conversion entry point: detects the source (official, mmpretrain, Hugging Face, hub id)
and writes this package's checkpoint, all or nothing."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mmseg_beit.checkpoint.hf_config import backbone_config, dataset_meta, run_config
from mmseg_beit.checkpoint.huggingface import convert_huggingface, is_huggingface, read_huggingface
from mmseg_beit.checkpoint.loading import CheckpointError, load_file, save_checkpoint, state_dict_of
from mmseg_beit.checkpoint.official import convert_official_file, describe
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
            raise CheckpointError(f"{src}: no such file or folder")
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


def _is_hf_source(path: Path) -> bool:
    if path.is_dir():
        return True
    return is_huggingface(state_dict_of(load_file(path), path))


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    config_out: str | os.PathLike | None = None,
    blocks: str = "unilm",
    grid: tuple[int, int] | None = None,
) -> list[str]:
    """Converts ``src`` to ``dst`` (and, for Hugging Face models, its config to ``config_out``).

    Returns:
        Lines describing what was read and written.

    Raises:
        CheckpointError: Unreadable or unknown source, an output that is an input, a bad suffix.
    """
    path = resolve_source(src)
    if not _is_hf_source(path):
        if config_out:
            raise CheckpointError("--config-out applies to Hugging Face models only")
        conversion = convert_official_file(path, dst, tuple(grid) if grid else None)
        return [describe(conversion), f"wrote {dst}"]
    return _convert_huggingface(path, Path(dst), config_out, blocks)


def _convert_huggingface(
    src: Path, dst: Path, config_out: str | os.PathLike | None, blocks: str
) -> list[str]:
    state, config = read_huggingface(src)
    folder = src if src.is_dir() else src.parent
    inputs = (folder / "model.safetensors", folder / "pytorch_model.bin", folder / "config.json")
    inputs += (src,)
    converted = convert_huggingface(state)
    full = any(k.startswith("decode_head.") for k in converted)
    if not full:
        converted = {k.removeprefix("backbone."): v for k, v in converted.items()}
    meta = {"converted_from": str(src), "huggingface_architectures": config.get("architectures")}
    if config:
        try:
            meta["backbone"] = backbone_config(config, blocks)
        except ValueError as error:
            raise CheckpointError(f"{src}: {error}") from error
        meta["transformers_out_indices"] = config.get("out_indices")
        size, patch = meta["backbone"]["img_size"], meta["backbone"]["patch_size"]
        size = (size, size) if isinstance(size, int) else size
        meta["relative_position_grid"] = [size[0] // patch, size[1] // patch]
    cfg_text = None
    if full:
        if not config:
            raise CheckpointError(f"{src}: no config.json beside it, cannot describe the model")
        meta["dataset_meta"] = dataset_meta(config)
        cfg_text = run_config(config, folder, blocks).pretty_text
        meta["cfg"] = cfg_text
    elif config_out:
        raise CheckpointError(f"{src}: --config-out needs a segmentation model (a backbone here)")
    lines = [
        f"{config.get('architectures')}: {'segmentor' if full else 'backbone'}, "
        f"{len(converted)} tensors, blocks {blocks}"
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
