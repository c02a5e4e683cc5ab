"""Installing the package pulls one OpenCV distribution: it names the one its stack requires.

Two (``opencv-python`` from mmengine / mmcv-lite, ``opencv-python-headless`` from here) were
both installed, each writing the same ``cv2`` package. The names are read from this checkout's
requirement files and from the installed stack's own metadata, not from what happens to be
installed (an environment keeps a distribution an older requirement file put there).
"""

from __future__ import annotations

import configparser
from importlib.metadata import PackageNotFoundError, requires

from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def _parse(lines: list[str]) -> list[Requirement]:
    return [Requirement(line) for line in map(str.strip, lines) if line and line[0] not in "#-"]


def _opencv_distributions(requirements: list[Requirement]) -> set[str]:
    """The opencv-* names among ``requirements`` and everything they require, installed
    metadata followed down."""
    found, seen, todo = set(), set(), list(requirements)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        if name.startswith("opencv-"):
            found.add(name)
        try:
            todo += _parse(requires(name) or [])
        except PackageNotFoundError:
            continue
    return found


def test_install_pulls_one_opencv_distribution():
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    package = _opencv_distributions(_parse(setup["options"]["install_requires"].splitlines()))
    pinned = _opencv_distributions(_parse((REPO / "requirements.txt").read_text().splitlines()))
    assert len(package) == 1, f"setup.cfg and the stack it requires name {sorted(package)}"
    assert pinned == package, f"requirements.txt: {sorted(pinned)}"
