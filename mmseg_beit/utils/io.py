"""Safe file writing: atomic (nothing half-written is left), never over an input."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np


def process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` (same suffix); moves it into place on success.

    The data is flushed to disk (fsync) before the rename, and the file gets the permissions a
    newly created file would (not the temporary file's 0600). On any error the temporary file is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~process_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def check_not_input(output: str | os.PathLike, *inputs: str | os.PathLike) -> None:
    """Raises ValueError if ``output`` is one of the ``inputs`` files."""
    out = Path(output).resolve()
    for item in inputs:
        if out == Path(item).resolve():
            raise ValueError(f"{output}: would overwrite the input {item}; choose another output")


def check_outside_inputs(
    output_dir: str | os.PathLike,
    input_dirs: Iterable[str | os.PathLike],
    option: str,
    subfolders: bool = True,
) -> None:
    """Raises ValueError if the output folder is a folder inputs are read from (or, with
    ``subfolders``, inside one: for folders read recursively, such as a dataset's).

    Args:
        output_dir: Where a command writes (``--out-dir``, ``--out``, ``--show-dir``).
        input_dirs: The folders it reads from (a dataset's image and label folders, the folders
            of the images given).
        option: The option that named ``output_dir``, for the message.
        subfolders: Whether a folder inside an input folder is refused too.
    """
    out = Path(output_dir).resolve()
    for folder in dict.fromkeys(Path(d).resolve() for d in input_dirs):
        if out == folder or (subfolders and folder in out.parents):
            where = "is" if out == folder else "is inside"
            raise ValueError(
                f"{option} {output_dir} {where} the input folder {folder}: outputs would mix "
                "with (or overwrite) inputs; choose a folder outside the inputs"
            )


def write_image(path: str | os.PathLike, array: np.ndarray) -> None:
    """``cv2.imwrite`` (format from the suffix), atomically; raises OSError if it fails."""
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), array):
            raise OSError(f"could not write {path}")
