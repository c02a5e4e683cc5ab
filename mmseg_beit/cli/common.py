"""Pieces the subcommands share: launch arguments, error exits."""

from __future__ import annotations

import argparse
import sys


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    from mmengine.config import DictAction

    parser.add_argument(
        "--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE",
        help="override config keys, e.g. train_dataloader.batch_size=4",
    )  # fmt: skip
    parser.add_argument(
        "--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none",
        help="set by tools/dist_*.sh and tools/slurm_*.sh",
    )  # fmt: skip
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)


def fail(command: str, message: object, code: int = 2) -> int:
    """Prints ``mmseg-beit COMMAND: message`` to stderr and returns ``code``."""
    print(f"mmseg-beit {command}: {message}", file=sys.stderr)
    return code
