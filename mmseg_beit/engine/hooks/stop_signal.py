"""A stop signal (``kill``, Ctrl-C, slurm's pre-emption) saves the current iteration first."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import Path

import torch
from mmengine.dist import all_reduce, barrier
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmseg_beit.registry import HOOKS


def _signal_number(name: str | int) -> signal.Signals:
    try:
        return signal.Signals(name) if isinstance(name, int) else signal.Signals[name.upper()]
    except (KeyError, ValueError):
        raise ValueError(f"SignalCheckpointHook: {name!r} is not a signal") from None


@HOOKS.register_module()
class SignalCheckpointHook(Hook):
    """On one of ``signals``, finishes the iteration, saves it through the checkpoint hook (its
    atomic path; every rank takes part and stops at the same iteration), then lets the signal's
    previous handling end the process (so its exit status is the signal's).

    The signal is noticed between training iterations; one arriving during validation takes
    effect after the next iteration. slurm's ``--signal=USR1@90`` pre-emption warning needs
    ``SIGUSR1`` added to ``signals``.

    Args:
        signals: Signal names (``"SIGTERM"``) or numbers.
    """

    priority = "LOWEST"  # after the checkpoint hook: an iteration it just saved is not resaved

    def __init__(self, signals: Sequence[str | int] = ("SIGTERM", "SIGINT")) -> None:
        self.signals = [_signal_number(name) for name in signals]
        self._received = 0
        self._previous: dict[signal.Signals, object] = {}
        self._loop_code: set = set()  # the train loop's run(): on the stack while it trains

    def _record(self, signum: int, frame) -> None:
        while frame is not None and frame.f_code not in self._loop_code:
            frame = frame.f_back
        if frame is not None:
            self._received = signum
            return
        # The train loop has ended by an exception (a notebook, a test session): hand the
        # signal back to what handled it before.
        self._restore()
        signal.raise_signal(signum)

    def before_train(self, runner) -> None:
        self._loop_code = {
            cls.run.__code__ for cls in type(runner.train_loop).__mro__ if "run" in vars(cls)
        }
        try:
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._record)
        except ValueError:  # not the main thread: signals cannot be caught here
            self._restore()
            print_log("SignalCheckpointHook: not in the main thread; signals not caught",
                      "current", level=30)  # fmt: skip

    def after_train(self, runner) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self._previous:
            return
        received = torch.tensor([self._received])
        all_reduce(received, op="max")  # every rank stops at the iteration any rank was told to
        signum = int(received.item())
        if not signum:
            return
        name = signal.Signals(signum).name
        saved = self._save(runner)
        print_log(f"{name} received: {saved}; stopping", "current", level=30)
        barrier()  # no rank ends before the checkpoint is complete
        self._restore()
        signal.raise_signal(signum)  # the previous handling: default exit status, KeyboardInterrupt

    def _save(self, runner) -> str:
        hook = next((h for h in runner.hooks if isinstance(h, MMEngineCheckpointHook)), None)
        if hook is None:
            return "no checkpoint hook, nothing saved"
        step = runner.iter + 1
        path = Path(hook.out_dir) / hook.filename_tmpl.format(step)
        if hook.by_epoch:
            return "epoch-based checkpoints, nothing saved mid-epoch"
        if hook.last_ckpt is None or Path(hook.last_ckpt) != path:
            hook._save_checkpoint_with_step(runner, step, dict(epoch=runner.epoch, iter=step))
        return f"iteration {step} saved to {path}"
