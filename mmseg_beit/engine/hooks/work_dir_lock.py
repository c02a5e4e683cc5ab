"""One live run per work dir: a lock the main process holds for its life.

A POSIX record lock (``fcntl.lockf``) on ``WORK_DIR/.mmseg-beit.lock``: the kernel drops it when
the process ends however it ends (``kill -9`` included), so a killed run never leaves it stuck,
and data-loader workers forked from the process do not inherit it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from mmengine.dist import broadcast_object_list, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mmseg_beit.engine.errors import TrainingError
from mmseg_beit.registry import HOOKS

LOCK_NAME = ".mmseg-beit.lock"
_held: dict[Path, int] = {}  # work dir -> descriptor of its lock file, for this process's life


def lock_work_dir(work_dir: str | os.PathLike) -> None:
    """Takes the work dir's lock for the rest of this process (again: nothing to do).

    Raises:
        TrainingError: Another live process holds it.
    """
    work_dir = Path(work_dir).resolve()
    if work_dir in _held:
        return
    work_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(work_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise TrainingError(
            f"work dir {work_dir} is in use by another run (process {holder}); wait for it to "
            "finish or choose another --work-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _held[work_dir] = fd


def is_training(runner) -> bool:
    """Whether ``runner`` is starting ``train()`` (its train loop is built by then), not a test."""
    return isinstance(runner._train_loop, BaseLoop)


@HOOKS.register_module()
class WorkDirLockHook(Hook):
    """Refuses to start training in a work dir another live run trains in (all ranks stop
    together), before any hook touches the folder. Testing a checkpoint there is left alone."""

    priority = "HIGHEST"

    def before_run(self, runner) -> None:
        if not is_training(runner):
            return
        refusal = [None]
        if is_main_process():
            try:
                lock_work_dir(runner.work_dir)
            except TrainingError as error:
                refusal = [str(error)]
        if get_world_size() > 1:
            broadcast_object_list(refusal)
        if refusal[0]:
            raise TrainingError(refusal[0])
