"""The error a training run stops with when a fault ends it (its message is one line)."""

from __future__ import annotations


class TrainingError(RuntimeError):
    """A run stopped on a fault: a diverging loss, a full disk, a busy work dir.

    The message is one line naming the iteration, file or folder at fault; ``mmseg-beit train``
    prints it without a traceback and exits non-zero.
    """
