"""The one precision mechanism: ``torch.autocast`` around a whole forward, by name."""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(name: str) -> str:
    """Validates a precision name: 'fp32', 'bf16' or 'fp16'."""
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {name!r}")
    return name


def autocast(precision: str, device_type: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` in the named precision; a no-op for 'fp32'."""
    dtype = PRECISIONS[check_precision(precision)]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=dtype)
