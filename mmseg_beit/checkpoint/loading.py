"""The one safe way this package reads and writes checkpoint files.

PyTorch files load with ``weights_only=True`` (tensors, containers and the allow-list of
:mod:`mmseg_beit.compat`); ``.safetensors`` files through safetensors. Failures raise
:class:`CheckpointError` naming the file and what is wrong with it: missing, not a checkpoint
at all, truncated, or refused because it would run code.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from torch import nn

from mmseg_beit.utils.io import atomic_path, check_not_input

__all__ = [
    "CheckpointError",
    "CheckpointNotFoundError",
    "LoadReport",
    "load_file",
    "load_state_dict_checked",
    "save_checkpoint",
    "state_dict_of",
]

_WRAPPER_KEYS = ("state_dict", "model", "module")
_META_KEY = "mmseg_beit.meta"  # safetensors metadata entry holding our meta as JSON
SAVE_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, is unsafe, or does not fit the model."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No such checkpoint file: also a ``FileNotFoundError`` (an ``OSError``), which code
    written for mmseg / mmengine catches."""


def _kind(path: Path) -> str:
    """'zip' (torch >= 1.6), 'pickle' (legacy torch) or 'other', from the first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == b"PK\x03\x04":
        return "zip"
    return "pickle" if head[:1] == b"\x80" else "other"


def _load_safetensors(path: Path, map_location) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device=str(map_location)) as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        meta = (handle.metadata() or {}).get(_META_KEY)
    return {"state_dict": tensors, "meta": json.loads(meta)} if meta else tensors


def load_file(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Reads a ``.pth`` / ``.bin`` / ``.pt`` (restricted unpickler) or ``.safetensors`` file.

    Raises:
        CheckpointNotFoundError: No such file (a ``CheckpointError`` and a
            ``FileNotFoundError``).
        CheckpointError: Not a checkpoint, truncated or corrupt file, or a pickle
            that references code (refused before anything in it runs).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointNotFoundError(f"{path}: no such checkpoint file")
    if path.suffix == ".safetensors":
        try:
            return _load_safetensors(path, map_location)
        except Exception as error:  # safetensors raises its own SafetensorError and OSError
            raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from error
    if _kind(path) == "other":
        raise CheckpointError(
            f"{path}: not a checkpoint (neither a PyTorch zip archive nor a pickle)"
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"GLOBAL (\S+)", str(error))
        if found:
            raise CheckpointError(
                f"{path}: refused: the pickle references {found.group(1)}, which could run "
                "code when loaded. Only tensors, containers and mmengine checkpoint types are "
                "accepted."
            ) from error
        raise CheckpointError(f"{path}: corrupt checkpoint ({error})") from error
    except (RuntimeError, EOFError, KeyError, ValueError, OSError) as error:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({error})") from error


def state_dict_of(checkpoint: Mapping, source: str | os.PathLike = "<checkpoint>") -> dict:
    """The tensor mapping inside a checkpoint (unwraps ``state_dict`` / ``model`` / ``module``)."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f"{source}: not a checkpoint (holds a {type(checkpoint).__name__})")
    current = checkpoint
    for _ in range(3):
        inner = next(
            (current[k] for k in _WRAPPER_KEYS if isinstance(current.get(k), Mapping)), None
        )
        if inner is None:
            break
        current = inner
    tensors = {k: v for k, v in current.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(
            f"{source}: holds no tensors (top-level keys: {list(checkpoint)[:8]})"
        )
    return tensors


def save_checkpoint(
    state_dict: dict[str, torch.Tensor],
    meta: dict,
    path: str | os.PathLike,
    inputs: tuple[str | os.PathLike, ...] = (),
) -> None:
    """Writes ``{'state_dict': ..., 'meta': ...}`` atomically, in the format ``path`` names.

    ``.pth`` / ``.pt`` / ``.bin``: a PyTorch file; ``.safetensors``: tensors, with ``meta`` as
    JSON in the file's metadata.

    Raises:
        CheckpointError: If the suffix is none of those, or ``path`` is one of ``inputs``.
    """
    path = Path(path)
    if path.suffix not in SAVE_SUFFIXES:
        raise CheckpointError(f"{path}: the output must end in one of {', '.join(SAVE_SUFFIXES)}")
    try:
        check_not_input(path, *inputs)
    except ValueError as error:
        raise CheckpointError(str(error)) from None
    with atomic_path(path) as tmp:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            tensors = {k: v.contiguous() for k, v in state_dict.items()}
            save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(meta, default=str)})
        else:
            torch.save({"state_dict": state_dict, "meta": meta}, tmp)


_SHOWN = 5


@dataclass
class LoadReport:
    """Keys that did not fit when loading a state dict into a module."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    loaded: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """'N missing (first few), N unexpected (...), N shape-mismatched (...)'."""

        def part(name: str, items: list[str]) -> str:
            more = f", ... {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
            return f"{len(items)} {name} ({', '.join(items[:_SHOWN])}{more})"

        shapes = [f"{k}: file {list(a)} vs model {list(b)}" for k, a, b in self.mismatched]
        parts = [
            part(name, items)
            for name, items in (
                ("missing", self.missing),
                ("unexpected", self.unexpected),
                ("shape-mismatched", shapes),
            )
            if items
        ]
        return "; ".join(parts) or "all keys matched"


def load_state_dict_checked(
    module: nn.Module, state_dict: dict[str, torch.Tensor], source: str, strict: bool = True
) -> LoadReport:
    """Loads the tensors that fit; raises on any misfit when ``strict`` or when nothing fits.

    Raises:
        CheckpointError: Naming ``source`` and listing missing, unexpected and
            shape-mismatched keys (the first few of each and the counts).
    """
    own = module.state_dict()
    report = LoadReport(
        missing=[k for k in own if k not in state_dict and not k.endswith("_index")],
        unexpected=[k for k in state_dict if k not in own],
        mismatched=[
            (k, tuple(v.shape), tuple(own[k].shape))
            for k, v in state_dict.items()
            if k in own and v.shape != own[k].shape
        ],
    )
    fitting = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
    report.loaded = len(fitting)
    name = type(module).__name__
    if not fitting or (strict and not report.clean):
        raise CheckpointError(f"{source}: does not fit {name}: {report.describe()}")
    module.load_state_dict(fitting, strict=False)
    level = "current"
    print_log(f"loaded {report.loaded} tensors from {source} into {name}", level)
    if not report.clean:
        print_log(f"{source}: {report.describe()}", level, level=30)
    return report


def _load_local_for_mmengine(filename: str, map_location=None) -> dict:
    """mmengine's loader of local paths (``Runner.load_checkpoint``, ``resume``, ``load_from``,
    mmseg's ``init_model``), through :func:`load_file` so its refusals name the file."""
    return load_file(os.path.expanduser(filename), map_location)


# mmengine's own local loader calls torch.load directly: a refused pickle surfaced as a raw
# UnpicklingError traceback from load_from / resume.
CheckpointLoader.register_scheme(prefixes="", loader=_load_local_for_mmengine, force=True)
