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
    "configs": ("configs", "list the shipped configs with their published mIoU"),
    "check-data": ("check_data", "check a config's dataset before training or testing"),
    "prepare-data": ("prepare_data", "turn a folder of images and masks into a ready config"),
    "export": ("export", "export a trained segmentor to ONNX or torch.export"),
}


def parser() -> argparse.ArgumentParser:
    """The ``mmseg-beit`` argument parser with every subcommand."""
    main = argparse.ArgumentParser(
        prog="mmseg-beit", description="BEiT / ViT UPerNet semantic segmentation (MMSegmentation)"
    )
    sub = main.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = importlib.import_module(f"mmseg_beit.cli.{module}")
        command.add_arguments(
            sub.add_parser(
                name,
                help=help_text,
                description=command.__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    return main


def main(argv: list[str] | None = None) -> int:
    """Runs ``mmseg-beit COMMAND ...``; returns the exit code."""
    args = parser().parse_args(argv)
    module = COMMANDS[args.command][0]
    return importlib.import_module(f"mmseg_beit.cli.{module}").run(args)


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
    return command.run(single.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
