"""Checkpoint reading (safe) and writing; key conversion (``official``, ``huggingface``) and
pretrained backbone loading (``pretrained``) load on first use."""

from mmseg_beit.checkpoint.loading import (
    CheckpointError,
    CheckpointNotFoundError,
    LoadReport,
    load_file,
    load_state_dict_checked,
    save_checkpoint,
    state_dict_of,
)

__all__ = [
    "CheckpointError",
    "CheckpointNotFoundError",
    "LoadReport",
    "load_file",
    "load_state_dict_checked",
    "save_checkpoint",
    "state_dict_of",
]
