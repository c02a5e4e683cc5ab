"""The shipped configs: recipes as published, a schedule that ends where training ends."""

from __future__ import annotations

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS

CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.py") if "_base_" not in p.parts)


def _simulate(cfg: Config) -> list[float]:
    optimizer = torch.optim.SGD(
        [torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim_wrapper.optimizer.lr
    )
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer)) for s in cfg.param_scheduler]
    lrs = []
    for _ in range(cfg.train_cfg.max_iters):
        lrs.append(optimizer.param_groups[0]["lr"])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_large_config_learning_rate_stays_positive_until_the_end():
    cfg = Config.fromfile(
        str(REPO / "configs/beit/upernet_beit-large_fp16_8x1_640x640_160k_ade20k.py")
    )
    accumulation = cfg.optim_wrapper.accumulative_counts
    assert accumulation == 2 and cfg.optim_wrapper.type == "mmseg_beit.AmpOptimWrapper"
    assert cfg.optim_wrapper.optimizer == dict(
        type="AdamW", lr=2e-5, betas=(0.9, 0.999), weight_decay=0.05
    )
    assert cfg.train_cfg.max_iters // accumulation == 160_000  # optimiser updates
    lrs = _simulate(cfg)
    peak = 2e-5
    assert max(lrs) == pytest.approx(peak, rel=1e-3)
    assert abs(lrs.index(max(lrs)) - 3000 * accumulation) <= 1  # warmup of 3000 updates
    assert min(lrs[:-1]) > 0  # never 0 before the end (mmseg's is 0 for the second half)
    assert lrs[160_000] == pytest.approx(peak / 2, rel=0.02)
    assert 0 < lrs[-2] < peak * 1e-5 and lrs[-1] == 0.0  # poly decay reaches 0 on the last step


def test_base_config_recipe():
    cfg = Config.fromfile(str(REPO / "configs/beit/upernet_beit-base_8x2_640x640_160k_ade20k.py"))
    assert cfg.optim_wrapper.constructor == "mmseg_beit.LayerDecayOptimizerConstructor"
    assert cfg.optim_wrapper.paramwise_cfg == dict(num_layers=12, layer_decay_rate=0.9)
    assert cfg.optim_wrapper.optimizer.lr == 3e-5 and cfg.train_dataloader.batch_size == 2
    assert cfg.model.backbone.out_indices == (3, 5, 7, 11)
    assert cfg.model.test_cfg == dict(mode="slide", crop_size=(640, 640), stride=(426, 426))
    lrs = _simulate(cfg)
    assert abs(lrs.index(max(lrs)) - 1500) <= 1 and min(lrs[:-1]) > 0


@pytest.mark.parametrize(
    "name",
    [
        "upernet_beit-base_640x640_160k_ade20k_ms.py",
        "upernet_beit-large_fp16_640x640_160k_ade20k_ms.py",
    ],
)
def test_ms_configs_test_the_segmentor_on_six_scales_and_two_flips(name):
    cfg = Config.fromfile(str(REPO / "configs/beit" / name))
    assert cfg.model.type == "mmseg_beit.SegTTAModel"
    assert cfg.model.module.type == "mmseg_beit.EncoderDecoder"
    tta = cfg.test_dataloader.dataset.pipeline[2]
    assert tta.type == "TestTimeAug"
    resizes, flips = tta.transforms[0], tta.transforms[1]
    assert [r.ratio for r in resizes] == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    assert {r.min_size for r in resizes} == {640} and [f.prob for f in flips] == [0.0, 1.0]
    assert cfg.val_dataloader.dataset.pipeline[1].type == "Resize"  # validation: single scale


def test_configs_path_prints_the_absolute_file_of_a_shipped_config(capsys):
    from mmseg_beit.cli import main

    assert main(["configs", "--path", "upernet_beit-tiny_toy"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str((REPO / "configs/beit/upernet_beit-tiny_toy.py").resolve())
    assert Config.fromfile(printed).model.decode_head.num_classes == 5


def test_configs_path_of_an_unknown_name_names_the_closest(capsys):
    from mmseg_beit.cli import main

    assert main(["configs", "--path", "upernet_beit-tiny"]) == 2
    assert "closest shipped configs: upernet_beit-tiny_toy" in capsys.readouterr().err
