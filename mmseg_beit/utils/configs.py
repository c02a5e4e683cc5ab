"""The configs shipped inside the package, found by name."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

CONFIG_ROOT = Path(__file__).resolve().parents[1] / "configs"


def shipped_configs() -> list[Path]:
    """Every config shipped with the package (``mmseg_beit/configs``), bases excluded."""
    return sorted(p for p in CONFIG_ROOT.rglob("*.py") if "_base_" not in p.parts)


CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


def find_config(name: str | os.PathLike) -> Path:
    """A config file from a path, or a shipped config from its name (with or without ``.py``,
    with or without its folder, e.g. ``upernet_beit-tiny_toy`` or ``beit/upernet_beit-tiny_toy``).

    Raises:
        FileNotFoundError: Naming the closest shipped configs.
    """
    path = Path(name)
    if path.is_file():
        return path
    if path.suffix in CHECKPOINT_SUFFIXES:  # a checkpoint that would have carried its config
        raise FileNotFoundError(f"{name}: no such checkpoint file")
    stem = path.name.removesuffix(".py")
    matches = [p for p in shipped_configs() if p.stem == stem]
    if str(path.parent) not in ("", "."):
        matches = [p for p in matches if p.parent.name == path.parent.name]
    if len(matches) == 1:
        return matches[0]
    names = [p.stem for p in shipped_configs()]
    close = difflib.get_close_matches(stem, names, n=3, cutoff=0.4)
    hint = f"; closest shipped configs: {', '.join(close)}" if close else ""
    raise FileNotFoundError(f"{name}: no such config file or shipped config{hint}")
