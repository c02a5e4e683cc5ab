"""Per-module precision and memory-layout switches (autocast dtype, channels-last)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_autocast(name: str | None) -> str | None:
    """Validates an autocast switch: None, 'bf16' or 'fp16'."""
    if name is not None and name not in AUTOCAST_DTYPES:
        raise ValueError(f"autocast must be None, 'bf16' or 'fp16', got {name!r}")
    return name


def autocast(name: str | None, device_type: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` in the named dtype, or a no-op for None."""
    if name is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=AUTOCAST_DTYPES[name])


def to_channels_last(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """NHWC memory layout for a list of 4-D tensors (values unchanged)."""
    return [t.contiguous(memory_format=torch.channels_last) for t in tensors]
