"""What the commands show on the screen: progress, results and problems.

mmengine's Runner logs the whole resolved config, the system environment and the hook table to
the console and to the run's log file; the config is also dumped into the work dir. Here the
console keeps what the user acts on and the log file keeps everything. Deprecation warnings of
the third-party stack that a user cannot act on (they come from mmseg's / mmengine's own code)
are hidden. ``--verbose`` shows everything.
"""

from __future__ import annotations

import logging
import warnings

# Runner log records kept to the log file (message starts).
FILE_ONLY = (
    "Config:\n",
    "\n" + "-" * 60 + "\nSystem environment:",
    "Hooks will be executed in the following order",
    "Distributed training is not used, all SyncBatchNorm",
    '"FileClient" will be deprecated',
    '"HardDiskBackend" is the alias of "LocalBackend"',
    "The prefix is not set in metric class",
)
# Python warnings raised inside the stack about its own internals: (category, message start).
STACK_WARNINGS = (
    (UserWarning, "``build_loss`` would be deprecated"),
    (UserWarning, "Default ``avg_non_ignore`` is False"),
    (UserWarning, "The draw is False"),
    (UserWarning, "`reduce_zero_label` will be deprecated"),
)
STACK_MODULES = r"(mmengine|mmseg|mmcv|torch)(\.|$)"

_verbose = False


def is_verbose() -> bool:
    """Whether this process shows everything (``--verbose``)."""
    return _verbose


class FileOnly(logging.Filter):
    """Keeps the records of :data:`FILE_ONLY` off a console handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(FILE_ONLY)


def quiet_console(verbose: bool = False) -> None:
    """Sets what this process shows: with ``verbose``, everything; otherwise no config dump on
    the screen and no stack deprecation warnings (child processes forked later inherit it)."""
    global _verbose
    _verbose = verbose
    if verbose:
        return
    for category, start in STACK_WARNINGS:
        warnings.filterwarnings("ignore", message=start, category=category)
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=STACK_MODULES)
