"""The one safe way this package reads checkpoint files.

PyTorch files load with ``weights_only=True`` (tensors, containers and the allow-list of
:mod:`mmseg_beit.compat`); ``.safetensors`` files through safetensors. Failures raise
:class:`CheckpointError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from mmseg_beit.io import atomic_path

__all__ = ["CheckpointError", "atomic_save", "load_file", "state_dict_of"]

_WRAPPER_KEYS = ("state_dict", "model", "module")


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, is unsafe, or does not fit the model."""


def load_file(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Reads a ``.pth`` / ``.bin`` / ``.pt`` (restricted unpickler) or ``.safetensors`` file.

    Raises:
        CheckpointError: Missing, truncated or corrupt file, or a pickle that references code
            (it is refused before anything in it runs).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file as load_safetensors

        try:
            return load_safetensors(str(path), device=str(map_location))
        except Exception as error:  # safetensors raises its own SafetensorError and OSError
            raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from error
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"GLOBAL (\S+)", str(error))
        if found or "Weights only load failed" in str(error):
            what = found.group(1) if found else "an object type outside the allow-list"
            raise CheckpointError(
                f"{path}: refused: the pickle references {what}, which could run code when "
                "loaded. Only tensors, containers and mmengine checkpoint types are accepted."
            ) from error
        raise CheckpointError(f"{path}: corrupt checkpoint ({error})") from error
    except (RuntimeError, EOFError, KeyError, ValueError, OSError) as error:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({error})") from error


def state_dict_of(checkpoint: Mapping, source: str | os.PathLike = "<checkpoint>") -> dict:
    """The tensor mapping inside a checkpoint (unwraps ``state_dict`` / ``model`` / ``module``)."""
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


def atomic_save(obj: object, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file beside ``path``, then renames it into place."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
