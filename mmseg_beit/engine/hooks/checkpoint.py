"""Checkpoints that survive a kill during saving, and resuming from the newest one that loads."""

from __future__ import annotations

import errno
import os
import re
from collections import deque
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.logging import print_log

from mmseg_beit.checkpoint import CheckpointError, load_file
from mmseg_beit.engine.errors import TrainingError
from mmseg_beit.engine.hooks.finite_loss import first_non_finite
from mmseg_beit.engine.hooks.random_state import META_KEY, gather_random_states
from mmseg_beit.engine.hooks.work_dir_lock import is_training
from mmseg_beit.registry import HOOKS
from mmseg_beit.utils.io import atomic_path


def checkpoint_candidates(work_dir: str | os.PathLike) -> list[Path]:
    """Checkpoints of a work dir, newest first: ``last_checkpoint``'s, then ``iter_N`` /
    ``epoch_N`` files by step."""
    work_dir = Path(work_dir)
    found = []
    last = work_dir / "last_checkpoint"
    if last.is_file():
        found.append(Path(last.read_text().strip()))
    steps = []
    for path in work_dir.glob("*.pth"):
        match = re.fullmatch(r"(?:iter|epoch)_(\d+)\.pth", path.name)
        if match:
            steps.append((int(match.group(1)), path))
    found += [path for _, path in sorted(steps, reverse=True)]
    return list(dict.fromkeys(found))


def newest_loadable_checkpoint(
    work_dir: str | os.PathLike,
) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest checkpoint of ``work_dir`` that loads, and the ones skipped with the reason."""
    skipped = []
    for path in checkpoint_candidates(work_dir):
        try:
            load_file(path)
        except CheckpointError as error:
            skipped.append((path, str(error)))
            continue
        return path, skipped
    return None, skipped


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """mmengine's CheckpointHook (same arguments), made safe against faults.

    * Each checkpoint is written under a temporary name, flushed to disk and renamed into place;
      ``last_checkpoint`` likewise. Then checkpoints beyond the newest ``max_keep_ckpts`` are
      deleted, so a kill while saving never leaves no checkpoint. The kept list travels in the
      checkpoint (it names the checkpoint itself), so a resumed run goes on deleting.
    * A failed write (a full disk) stops the run with a one-line error naming the file and
      removes the partial file; weights holding a NaN or an inf are never saved.
    * Each checkpoint holds every rank's random-number state (see ``random_state``).
    * Resuming without a named checkpoint (``resume=True``, ``--resume``) takes the newest
      checkpoint that loads, saying which ones it skipped and why; with none that loads it says
      so loudly and training starts from the beginning.
    """

    def before_run(self, runner) -> None:
        super().before_run(runner)
        work_dir = Path(runner.work_dir)
        if not is_training(runner):  # testing beside a live run: leave its files alone
            return
        if is_main_process():
            for stale in work_dir.glob(".*.tmp"):  # left by a kill while saving
                stale.unlink(missing_ok=True)
        if not runner._resume or runner._load_from is not None:
            return
        chosen, skipped = newest_loadable_checkpoint(work_dir)
        for path, why in skipped:
            print_log(f"resume: skipping {path}: {why}", "current", level=30)
        if chosen is None:
            print_log(
                f"resume: NOTHING TO RESUME in {work_dir} (no checkpoint that loads); "
                "training starts from the beginning",
                "current",
                level=30,
            )
            runner._resume = False  # else mmengine resumes from `last_checkpoint` regardless
            return
        print_log(f"resume: resuming from {chosen}", "current")
        runner._load_from = str(chosen)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.max_keep_ckpts > 0:  # mmengine's deque drops ids unseen, so nothing is deleted
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not isinstance(self.file_backend, LocalBackend):  # remote storage: mmengine's way
            return super()._save_checkpoint_with_step(runner, step, meta)
        name = self.filename_tmpl.format(step)
        final = Path(self.out_dir) / name
        tmp = Path(self.out_dir) / f".{name}.tmp"
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        bad = first_non_finite(model)
        if bad is not None:
            raise TrainingError(f"iteration {step}: {bad} holds a NaN or an inf; {final} not saved")
        before = list(getattr(self, "keep_ckpt_ids", ()))  # mmengine's: only when keeping
        kept = [*before, step] if self.max_keep_ckpts > 0 and before[-1:] != [step] else before
        hub, previous = runner.message_hub, self.last_ckpt
        hub.update_info("keep_ckpt_ids", kept)  # both saved with the checkpoint
        hub.update_info("last_ckpt", str(final))
        meta = {**meta, META_KEY: gather_random_states()}
        try:
            self._write(runner, tmp, final, meta)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            hub.update_info("keep_ckpt_ids", before)
            hub.update_info("last_ckpt", previous)
            reason = error.strerror or str(error)
            if error.errno == errno.ENOSPC:
                reason += " (free space, or lower max_keep_ckpts)"
            raise TrainingError(f"iteration {step}: could not write {final}: {reason}") from error
        self.last_ckpt = str(final)
        self.keep_ckpt_ids = deque(kept)
        while len(self.keep_ckpt_ids) > self.max_keep_ckpts > 0:
            old = Path(self.out_dir) / self.filename_tmpl.format(self.keep_ckpt_ids.popleft())
            if is_main_process():
                old.unlink(missing_ok=True)
        hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))

    def _write(self, runner, tmp: Path, final: Path, meta: dict) -> None:
        """The checkpoint into ``tmp``, flushed, renamed to ``final``; ``last_checkpoint``."""
        runner.save_checkpoint(
            self.out_dir,
            tmp.name,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if is_main_process():
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, final)
            with atomic_path(Path(runner.work_dir) / "last_checkpoint") as path:
                path.write_text(str(final))
