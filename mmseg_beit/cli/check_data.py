"""Checks a config's dataset: unreadable images, labels that are not single-channel, label
values outside the classes (after reduce_zero_label), image / label size mismatches, empty
splits. Training and testing run the same check before they start.

    mmseg-beit check-data CONFIG [--splits train val test] [--cfg-options K=V ...]
"""

from __future__ import annotations

import argparse

from mmseg_beit.cli.common import fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mmengine.config import DictAction

    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument(
        "--splits", nargs="+", choices=("train", "val", "test"), default=["train", "val", "test"]
    )
    parser.add_argument(
        "--cfg-options", nargs="+", action=DictAction, metavar="KEY=VALUE",
        help="override config keys, e.g. train_dataloader.dataset.data_root=DIR",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import mmseg_beit  # noqa: F401
    from mmseg_beit.apis.config import load_config
    from mmseg_beit.runtime.data_check import check_split

    try:
        cfg = load_config(args.config, args.cfg_options)
    except (FileNotFoundError, ValueError) as error:
        return fail("check-data", error)
    bad = 0
    for split in dict.fromkeys(args.splits):
        try:
            _, report = check_split(cfg, split)
        except (FileNotFoundError, ValueError, AssertionError) as error:
            print(f"{split}: cannot list the samples ({error})")
            bad += 1
            continue
        if report is None:
            print(f"{split}: the config has no {split}_dataloader")
            continue
        print(report.summary(shown=len(report.problems) * 4 or 1))
        bad += len(report.problems)
    return 1 if bad else 0
