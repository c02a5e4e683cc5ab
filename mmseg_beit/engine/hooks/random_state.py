"""Random-number state kept in checkpoints, so a resumed run draws what an unbroken one would.

Dropout and drop-path draw from the main process's generators; a resumed run restores them (per
rank) just before its first iteration, after mmengine has advanced the data loader past the
trained batches (the loader's workers reseed themselves deterministically). Validation runs
between training iterations, so its draws (a new loader iterator takes a seed from torch) are
undone: an unbroken run's training draws then match the checkpoint's.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmseg_beit.registry import HOOKS

META_KEY = "random_state"  # checkpoint['meta'][META_KEY]: one state per rank


def capture_random_state() -> dict:
    """This process's python, numpy, torch CPU and CUDA generator states (tensors and lists,
    which ``weights_only`` loading accepts)."""
    kind, keys, position, has_gauss, gauss = np.random.get_state(legacy=True)
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Sets this process's generators to a :func:`capture_random_state` result."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def gather_random_states() -> list[dict]:
    """Every rank's :func:`capture_random_state`, by rank (a collective: all ranks call it)."""
    return all_gather_object(capture_random_state())


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Restores the checkpoint's random state on resume; keeps validation's draws out of
    training's. The state is written by :class:`~mmseg_beit.engine.hooks.CheckpointHook`."""

    priority = "VERY_HIGH"

    def __init__(self) -> None:
        self._pending: tuple[int, list[dict]] | None = None
        self._before_val: dict | None = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get("meta") or {}
        if META_KEY in meta and "iter" in meta:
            self._pending = (meta["iter"], meta[META_KEY])

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is None:
            return
        iteration, states = self._pending
        self._pending = None
        if runner.iter != iteration:  # weights loaded to start a new run (load_from), not resumed
            return
        if len(states) != get_world_size():
            print_log(
                f"resume: the checkpoint holds the random state of {len(states)} processes, this "
                f"run has {get_world_size()}: dropout draws will differ from an unbroken run",
                "current",
                level=30,
            )
            return
        restore_random_state(states[get_rank()])

    def before_val(self, runner) -> None:
        self._before_val = capture_random_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            restore_random_state(self._before_val)
            self._before_val = None
