"""Checkpoint reading (safe), key conversion and loading with reports."""

from mmseg_beit.checkpoint.loading import CheckpointError, atomic_save, load_file, state_dict_of

__all__ = ["CheckpointError", "atomic_save", "load_file", "state_dict_of"]
