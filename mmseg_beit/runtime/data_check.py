"""The dataset check of a run's splits, before anything is trained or tested."""

from __future__ import annotations

import copy
from pathlib import Path

from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.registry import DATASETS, init_default_scope
from mmengine.utils import ProgressBar

from mmseg_beit.datasets.check import DataReport, check_samples
from mmseg_beit.utils.io import atomic_path


class DataCheckError(ValueError):
    """A split has unreadable or inconsistent samples."""


def _dataset(cfg: Config, split: str):
    loader = cfg.get(f"{split}_dataloader")
    if not loader:
        return None
    dataset_cfg = copy.deepcopy(loader["dataset"])
    dataset_cfg["pipeline"] = []
    dataset_cfg["lazy_init"] = False
    dataset_cfg["serialize_data"] = False  # keep data_list readable
    init_default_scope(cfg.get("default_scope", "mmseg_beit"))
    return DATASETS.build(dataset_cfg)


def check_split(cfg: Config, split: str):
    """Checks one split of a config: (its dataset, the report), or (None, None) when the config
    has no such dataloader."""
    dataset = _dataset(cfg, split)
    if dataset is None:
        return None, None
    samples = dataset.data_list
    bar = ProgressBar(len(samples)) if get_rank() == 0 and len(samples) > 50 else None
    report = check_samples(
        split,
        samples,
        len(dataset.metainfo["classes"]),
        bool(getattr(dataset, "reduce_zero_label", False)),
        int(getattr(dataset, "ignore_index", 255)),
        progress=bar.update if bar else None,
    )
    if bar is not None:
        print()
    return dataset, report


def _skip(cfg: Config, split: str, dataset, report: DataReport) -> Path:
    """Points the split's dataset at a list of its good samples (written to the work dir)."""
    img_dir = Path(dataset.data_prefix["img_path"])
    names = [
        str(Path(sample["img_path"]).relative_to(img_dir))[: -len(dataset.img_suffix)]
        for index, sample in enumerate(dataset.data_list)
        if index not in report.problems
    ]
    path = Path(cfg.work_dir) / f"{split}_good_samples.txt"
    if get_rank() == 0:
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(names) + "\n")
    cfg[f"{split}_dataloader"]["dataset"]["ann_file"] = str(path.resolve())
    return path


def check_run_data(cfg: Config, splits: tuple[str, ...], skip_bad: bool = False) -> None:
    """Checks ``splits`` of a run; stops with a summary, or skips the bad samples when asked.

    Raises:
        DataCheckError: Listing the problems, unless ``skip_bad`` (an empty split always).
    """
    for split in splits:
        dataset, report = check_split(cfg, split)
        if report is None or not report.problems:
            continue
        if not skip_bad or -1 in report.problems or len(report.problems) == report.samples:
            raise DataCheckError(
                f"the data check found problems (fix them, or pass --skip-bad-samples to leave "
                f"those samples out):\n{report.summary()}"
            )
        path = _skip(cfg, split, dataset, report)
        if get_rank() == 0:
            print(f"skipping {len(report.problems)} bad {split} samples (kept: {path}):")
            print(report.summary(shown=len(report.problems) * 4))
