"""What a folder's mask values mean: the class names, and whether 0 is a class or "unlabeled".

Two conventions are common and a mask cannot tell them apart by itself:

- 0 is a class (mmseg's default, Cityscapes, Pascal VOC): class i stored as i, 255 ignored;
- 0 is "unlabeled" (ADE20K): ignored, class i stored as i + 1 (mmseg's ``reduce_zero_label``).

Read the wrong way, every class is shifted by one and "unlabeled" is trained as a class. So
the choice is made from what the user says (``--zero-is-ignore`` / ``--zero-is-class``), a
known dataset's convention, or a class-name count that only one convention fits (said loudly);
otherwise the user is asked. Names come from a file, a list, a known dataset, or an explicit
``numbered`` request; they are never made up silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mmseg_beit.datasets.folder import FolderDataset

NAME_SOURCES = (
    "--classes FILE (one name per line, class 0 first), --classes 'road,car,sky', "
    "--classes ade20k (its 150 names), or --classes numbered (class0, class1, ...)"
)


@dataclass
class LabelPlan:
    """How to read the masks.

    Attributes:
        classes: Class names, in label order.
        zero_is_ignore: 0 = unlabeled (ignored), class i stored as i + 1.
        palette: A known dataset's palette, or None (MMSegmentation picks a seeded one).
        notes: What was decided and why, for the user.
    """

    classes: list[str]
    zero_is_ignore: bool
    palette: list[list[int]] | None = None
    notes: list[str] = field(default_factory=list)


def _known(name: str) -> tuple[list[str], list[list[int]], bool] | None:
    """(names, palette, zero_is_ignore) of a dataset this package knows, by name."""
    if name.lower() not in ("ade20k", "ade"):
        return None
    from mmseg.datasets import ADE20KDataset

    meta = ADE20KDataset.METAINFO
    return list(meta["classes"]), [list(c) for c in meta["palette"]], True


def read_names(spec: str) -> list[str] | None:
    """Class names from a file, a comma-separated list, or None for ``numbered``.

    Raises:
        ValueError: If ``spec`` is none of these.
    """
    if spec == "numbered":
        return None
    if Path(spec).is_file():
        lines = Path(spec).read_text().splitlines()
        return [line.strip() for line in lines if line.strip()]
    if "," in spec:
        return [name.strip() for name in spec.split(",") if name.strip()]
    raise ValueError(f"--classes {spec}: no such file; give {NAME_SOURCES}")


def plan_labels(found: FolderDataset, classes: str | None, zero: str | None) -> LabelPlan:
    """Decides the class names and the meaning of 0 for ``found``'s masks.

    Args:
        found: The scanned folders.
        classes: A file, a comma-separated list, a known dataset (``ade20k``) or ``numbered``.
        zero: ``"ignore"``, ``"class"``, or None to decide from the names (or ask).

    Raises:
        ValueError: No names given, a choice the masks do not decide, or too few names; the
            message says what the masks hold and what to pass.
    """
    if classes is None:
        raise ValueError(f"name the classes: {NAME_SOURCES}\n  ({found.describe()})")
    palette, notes = None, []
    known = _known(classes)
    if known:
        names, palette, convention = known
        if zero is None:
            zero = "ignore" if convention else "class"
            notes.append(
                f"--classes {classes}: its convention, 0 = unlabeled (ignored), class i stored "
                "as i + 1 (--zero-is-class to read 0 as a class)"
            )
    else:
        names = read_names(classes)
    largest = found.largest
    if zero is None and names is not None:
        if len(names) == largest:
            zero = "ignore"
            notes.append(
                f"NOTE: the masks use values up to {largest} and {len(names)} names are given: "
                f"0 is read as UNLABELED (ignored; ADE20K's convention), 1 as {names[0]!r}, "
                f"{largest} as {names[-1]!r}. Pass --zero-is-class if 0 is a class."
            )
        elif len(names) == largest + 1:
            zero = "class"
            notes.append(
                f"0 is the class {names[0]!r} ({len(names)} names for values 0..{largest})"
            )
    if zero is None:
        told = f"{len(names)} names are given" if names is not None else "no class names decide it"
        hint = (
            "; 0 present and no 255: that looks like ADE20K's convention"
            if found.masks_with_zero and not found.has_ignore
            else ""
        )
        raise ValueError(
            f"does 0 mean 'unlabeled' or is it a class? {found.describe()}; {told}{hint}.\n"
            "  Choose: --zero-is-ignore (0 = unlabeled, ignored; class i stored as i + 1, as "
            "ADE20K) or --zero-is-class (class i stored as i, 255 = ignore)"
        )
    count = largest if zero == "ignore" else largest + 1
    if count < 1:
        raise ValueError(f"{found.describe()}: no class left to train with --zero-is-{zero}")
    if names is None:
        names = [f"class{i}" for i in range(count)]
        notes.append(f"classes named class0..class{count - 1} (--classes numbered)")
    if len(names) < count:
        raise ValueError(
            f"--classes {classes}: {len(names)} names, but with 0 as "
            f"{'unlabeled' if zero == 'ignore' else 'a class'} the masks use {count} classes "
            f"({found.describe()})"
        )
    return LabelPlan(names, zero == "ignore", palette, notes)
