"""The ``mmseg-beit`` command: one subcommand per job, each also reachable as ``tools/*.py``."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help)
COMMANDS = {
    "train": ("train", "train a config (file or shipped name)"),
    "test": ("test", "evaluate a checkpoint (single-scale, or multi-scale + flip)"),
    "infer": ("infer", "segment your own images: overlay pictures and label PNGs"),
    "convert": ("convert", "convert official / mmpretrain / Hugging Face weights"),
    "configs": ("configs", "list the shipped configs (their published mIoU, or a file's path)"),
    "check-data": ("check_data", "check a config's dataset before training or testing"),
    "prepare-data": ("prepare_data", "turn a folder of images and masks into a ready config"),
    "export": ("export", "export a trained segmentor to ONNX, torch.export or transformers"),
}


def parser() -> argparse.ArgumentParser:
    """The ``mmseg-beit`` argument parser with every subcommand."""
    main = argparse.ArgumentParser(
        prog="mmseg-beit", description="BEiT / ViT UPerNet semantic segmentation (MMSegmentation)"
    )
    sub = main.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = importlib.import_module(f"mmseg_beit.cli.{module}")
        one = sub.add_parser(
            name,
            help=help_text,
            description=command.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(one)
        _add_verbose(one)
    return main


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose", action="store_true",
        help="show everything: the whole config, the environment, third-party warnings",
    )  # fmt: skip


def _run(module: str, args: argparse.Namespace) -> int:
    from mmseg_beit.runtime.console import quiet_console

    quiet_console(args.verbose)
    return importlib.import_module(f"mmseg_beit.cli.{module}").run(args)


def main(argv: list[str] | None = None) -> int:
    """Runs ``mmseg-beit COMMAND ...``; returns the exit code."""
    args = parser().parse_args(argv)
    return _run(COMMANDS[args.command][0], args)


def command_main(module: str, argv: list[str] | None = None) -> int:
    """Runs one subcommand as its own program (``tools/train.py`` and the like)."""
    command = importlib.import_module(f"mmseg_beit.cli.{module}")
    name = next(k for k, (m, _) in COMMANDS.items() if m == module)
    single = argparse.ArgumentParser(
        prog=f"mmseg-beit {name}",
        description=command.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_arguments(single)
    _add_verbose(single)
    return _run(module, single.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
