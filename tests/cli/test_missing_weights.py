"""Weight files a config needs: all named in one message before anything is built, or
--from-scratch; and what a training run shows on the screen and keeps in its work dir."""

from __future__ import annotations

import pytest
from conftest import REPO
from mmengine.config import Config
from userland import cli, run

TOY = REPO / "configs/beit/upernet_beit-tiny_toy.py"
PRETRAINED = (
    f"_base_ = [{str(TOY)!r}]\n"
    "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/b.pth')))\n"
)
ONE_ITERATION = [
    "--skip-data-check", "--cfg-options", "train_cfg.max_iters=1", "val_cfg=None",
    "val_dataloader=None", "val_evaluator=None",
]  # fmt: skip


def test_train_names_every_missing_weight_file_before_building(tmp_path):
    (tmp_path / "cfg.py").write_text(PRETRAINED + "load_from = 'old/iter_9.pth'\n")
    trained = run(cli("train", "cfg.py", "--work-dir", "work"), tmp_path)
    assert trained.returncode == 2
    assert "needs 2 weight file(s)" in trained.stderr
    assert "model.backbone.init_cfg.checkpoint = pretrain/b.pth: no such file" in trained.stderr
    assert "load_from = old/iter_9.pth: no such file" in trained.stderr
    assert "docs/checkpoints.md" in trained.stderr
    assert not (tmp_path / "work").exists()  # nothing built, no work dir


def test_train_with_a_missing_official_backbone_says_where_it_comes_from(tmp_path):
    trained = run(cli("train", "upernet_beit-large_fp16_8x1_640x640_160k_ade20k"), tmp_path)
    assert trained.returncode == 2
    message = trained.stderr
    assert "releases/download/v1.0/beit_large_patch16_224_pt22k_ft22k.pth" in message
    assert "mmseg-beit convert beit_large_patch16_224_pt22k_ft22k.pth pretrain/" in message
    assert "mmseg-beit train ... --from-scratch" in message
    assert not (tmp_path / "work_dirs").exists()


@pytest.fixture(scope="module")
def scratch_run(tmp_path_factory):
    """One iteration of the toy config pointed at a missing backbone file, --from-scratch."""
    folder = tmp_path_factory.mktemp("scratch")
    (folder / "cfg.py").write_text(PRETRAINED)
    trained = run(
        cli("train", "cfg.py", "--work-dir", "work", "--from-scratch", *ONE_ITERATION), folder
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    return folder, trained


def test_train_from_scratch_says_so_on_screen_and_in_the_log(scratch_run):
    folder, trained = scratch_run
    said = "training from scratch: model.backbone.init_cfg=None (instead of pretrain/b.pth)"
    assert said in trained.stdout
    (log,) = (folder / "work").glob("*/*.log")
    assert said in log.read_text()
    assert Config.fromfile(str(folder / "work" / "cfg.py")).model.backbone.init_cfg is None


def test_train_screen_has_no_config_dump_which_the_work_dir_keeps(scratch_run):
    folder, trained = scratch_run
    screen = trained.stdout + trained.stderr
    assert "Config:" not in screen and "System environment" not in screen
    assert "UserWarning" not in screen and "will be deprecated" not in screen
    (log,) = (folder / "work").glob("*/*.log")
    assert f"log (with the whole config; --verbose shows it): {log}" in trained.stdout
    assert "Config:" in log.read_text()
    assert (folder / "work" / "iter_1.pth").is_file()
