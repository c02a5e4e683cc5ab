"""What 0 means in a folder's masks, and where class names come from (prepare-data's reading)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mmseg_beit.datasets.folder import scan_folders
from mmseg_beit.datasets.mask_labels import plan_labels


def _folder(root, masks: list[np.ndarray]):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i, mask in enumerate(masks):
        Image.new("RGB", mask.shape[::-1]).save(root / "images" / f"m{i}.jpg")
        Image.fromarray(mask.astype(np.uint8)).save(root / "masks" / f"m{i}.png")
    return scan_folders(root / "images", root / "masks")


def _ade_like(root):
    """0 = unlabeled (a few pixels), classes stored as 1..3, no 255."""
    mask = np.ones((8, 8), np.uint8)
    mask[:2] = 0
    mask[4:, :4], mask[4:, 4:] = 2, 3
    return _folder(root, [mask, mask])


def test_scan_reports_what_the_masks_hold(tmp_path):
    mask = np.array([[0, 0, 1, 255], [4, 4, 4, 4]])
    found = _folder(tmp_path, [mask, np.full((2, 4), 2)])
    assert (found.largest, found.masks_with_zero, found.has_ignore) == (4, 1, True)
    assert found.zero_fraction == pytest.approx(2 / 16)


def test_no_class_names_is_refused_naming_the_ways_to_give_them(tmp_path):
    found = _ade_like(tmp_path)
    with pytest.raises(ValueError, match=r"name the classes: --classes FILE.*ade20k.*numbered"):
        plan_labels(found, None, "ignore")


def test_zero_without_deciding_names_is_refused_with_what_was_found(tmp_path):
    found = _ade_like(tmp_path)
    with pytest.raises(ValueError) as error:
        plan_labels(found, "numbered", None)
    message = str(error.value)
    assert "label values up to 3; 0 in 2 of them (25.0% of all pixels); no 255" in message
    assert "--zero-is-ignore" in message and "--zero-is-class" in message
    assert "looks like ADE20K's convention" in message


def test_as_many_names_as_the_largest_value_reads_zero_as_unlabeled_loudly(tmp_path):
    plan = plan_labels(_ade_like(tmp_path), "sky,tree,road", None)
    assert plan.zero_is_ignore and plan.classes == ["sky", "tree", "road"]
    assert any(note.startswith("NOTE: ") and "UNLABELED" in note for note in plan.notes)


def test_one_name_more_than_the_largest_value_reads_zero_as_a_class(tmp_path):
    plan = plan_labels(_ade_like(tmp_path), "other,sky,tree,road", None)
    assert not plan.zero_is_ignore and plan.classes == ["other", "sky", "tree", "road"]


def test_names_that_fit_neither_reading_are_refused(tmp_path):
    with pytest.raises(ValueError, match="5 names are given"):
        plan_labels(_ade_like(tmp_path), "a,b,c,d,e", None)


def test_the_users_choice_wins_and_too_few_names_are_refused(tmp_path):
    found = _ade_like(tmp_path)
    assert plan_labels(found, "numbered", "class").classes == [f"class{i}" for i in range(4)]
    with pytest.raises(ValueError, match="3 names, but with 0 as a class the masks use 4"):
        plan_labels(found, "sky,tree,road", "class")


def test_names_from_a_file(tmp_path):
    (tmp_path / "names.txt").write_text("sky\n\ntree\nroad\n")
    plan = plan_labels(_ade_like(tmp_path / "data"), str(tmp_path / "names.txt"), "ignore")
    assert plan.classes == ["sky", "tree", "road"]


def test_ade20k_names_bring_its_convention_and_palette(tmp_path):
    from mmseg.datasets import ADE20KDataset

    plan = plan_labels(_ade_like(tmp_path), "ade20k", None)
    assert plan.zero_is_ignore and plan.classes == list(ADE20KDataset.METAINFO["classes"])
    assert plan.palette[0] == [120, 120, 120] and len(plan.palette) == 150


def test_real_ade20k_masks_are_not_read_as_151_classes(ade_samples):
    found = scan_folders(ade_samples / "images", ade_samples / "annotations")
    assert found.masks_with_zero == 3 and not found.has_ignore
    with pytest.raises(ValueError, match="looks like ADE20K's convention"):
        plan_labels(found, "numbered", None)
    assert len(plan_labels(found, "ade20k", None).classes) == 150
