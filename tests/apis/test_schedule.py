"""``train --iters N``: a recipe run shorter or longer, its schedule scaled consistently."""

from __future__ import annotations

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS
from userland import cli, run

from mmseg_beit.apis.schedule import scale_schedule
from mmseg_beit.cli import main
from mmseg_beit.datasets import make_toy_ade20k
from mmseg_beit.utils.configs import find_config

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")


def test_iters_scales_the_beit_base_recipe_consistently():
    cfg = Config.fromfile(str(find_config("upernet_beit-base_8x2_640x640_160k_ade20k")))
    changes = scale_schedule(cfg, 1600)
    warmup, poly = cfg.param_scheduler
    assert cfg.train_cfg.max_iters == 1600
    assert (warmup.begin, warmup.end, poly.begin, poly.end) == (0, 15, 15, 1600)
    assert cfg.train_cfg.val_interval == 160
    assert cfg.default_hooks.checkpoint.interval == 160
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 3  # unchanged
    assert cfg.default_hooks.logger.interval == 50  # already more than 10 lines a run
    assert changes[0] == "train_cfg.max_iters 160000 -> 1600"
    assert "param_scheduler[1].end 160000 -> 1600" in changes


def test_iters_lengthens_the_accumulating_beit_large_recipe():
    cfg = Config.fromfile(str(find_config("upernet_beit-large_fp16_8x1_640x640_160k_ade20k")))
    scale_schedule(cfg, 640000)  # twice as long: 320k iterations = 160k updates before
    warmup, poly = cfg.param_scheduler
    assert (warmup.end, poly.begin, poly.end) == (12000, 12000, 640000)
    assert cfg.train_cfg.val_interval == 64000 and cfg.default_hooks.checkpoint.interval == 64000


def test_a_very_short_run_keeps_a_warm_up_and_a_decay():
    cfg = Config.fromfile(CONFIG)
    scale_schedule(cfg, 3)
    warmup, poly = cfg.param_scheduler
    assert (warmup.begin, warmup.end, poly.begin, poly.end) == (0, 2, 2, 3)
    assert cfg.train_cfg.val_interval == 3 and cfg.default_hooks.logger.interval == 1


@pytest.mark.parametrize("iters", [2, 4, 10])
def test_a_very_short_run_reaches_the_recipes_learning_rate(iters):
    cfg = Config.fromfile(CONFIG)
    scale_schedule(cfg, iters)
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    schedulers = [
        PARAM_SCHEDULERS.build({**scheduler, "optimizer": optimizer})
        for scheduler in cfg.param_scheduler
    ]
    rates = []
    for _ in range(iters):
        rates.append(optimizer.param_groups[0]["lr"])
        for scheduler in schedulers:
            scheduler.step()
    assert max(rates) == pytest.approx(1.0)  # the warm-up rises to the recipe's rate


def test_iters_must_be_positive(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", CONFIG, "--iters", "0"]) == 2
    assert "--iters 0: the number of iterations must be at least 1" in capsys.readouterr().err


def test_train_iters_stops_at_n_and_logs_what_changed(tmp_path):
    make_toy_ade20k(tmp_path / "data" / "toy_ade20k", num_train=4, num_val=1)
    out = run(cli("train", CONFIG, "--work-dir", "work", "--iters", "3"), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    line = "--iters 3: train_cfg.max_iters 600 -> 3; train_cfg.val_interval 600 -> 3"
    assert line in out.stdout + out.stderr
    assert line in next((tmp_path / "work").rglob("*.log")).read_text()  # in the run's log
    assert "Iter(train) [3/3]" in out.stdout + out.stderr
    saved = sorted(p.name for p in (tmp_path / "work").glob("iter_*.pth"))
    assert saved == ["iter_2.pth", "iter_3.pth"]  # interval 200 -> 1, max_keep_ckpts 2
    assert (tmp_path / "work" / "last_checkpoint").read_text().strip().endswith("iter_3.pth")
