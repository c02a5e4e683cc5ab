"""Every config under configs/ trains 2 iterations as shipped and then tests, as users run it.

Shrunk in width and depth only; data pipeline, preprocessor, optimiser wrapper, accumulation,
schedule and hooks are the config's. Batch-1 recipes (8 GPUs x 1 image) train as 2 processes of
1 image each through tools/dist_train.sh; *_ms configs test through tools/dist_test.sh (DDP).
"""

from __future__ import annotations

import pytest
from mmengine.config import Config
from userland import cli, logged_miou, make_ade_folder, make_pretrained, run, script, shrink_options

from mmseg_beit.utils.configs import shipped_configs

CONFIGS = shipped_configs()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_config_trains_two_iterations_then_tests(config, tmp_path):
    cfg = Config.fromfile(str(config))
    if "toy" not in config.stem:
        make_ade_folder(tmp_path)
    make_pretrained(tmp_path, cfg)
    shrink = shrink_options(cfg)
    train_args = [str(config), "--work-dir", "work", "--cfg-options", *shrink]
    train_args.append("train_cfg.max_iters=2")
    processes = 2 if cfg.train_dataloader.batch_size == 1 else 1
    if processes == 1:
        trained = run(cli("train", *train_args), tmp_path)
    else:
        trained = run(script("dist_train.sh", train_args[0], "2", *train_args[1:]), tmp_path)
    assert trained.returncode == 0, trained.stderr[-4000:]
    output = trained.stdout + trained.stderr
    assert "Saving checkpoint at 2 iterations" in output
    assert f"processes: {processes} (launcher: {'pytorch' if processes == 2 else 'none'})" in output
    logged = logged_miou(output, "val")
    checkpoint = tmp_path / "work" / "iter_2.pth"
    assert checkpoint.is_file()

    test_args = [str(config), str(checkpoint), "--cfg-options", *shrink]
    if config.stem.endswith("_ms"):  # multi-scale through DDP, 2 processes
        tested = run(
            script("dist_test.sh", test_args[0], test_args[1], "2", *test_args[2:]), tmp_path
        )
    else:
        tested = run(cli("test", *test_args), tmp_path)
    assert tested.returncode == 0, tested.stderr[-4000:]
    output = tested.stdout + tested.stderr
    if config.stem.endswith("_ms"):
        assert "multi-scale + flip: 12 views per image" in output
        assert "processes: 2 (launcher: pytorch)" in output
    else:
        assert logged == pytest.approx(logged_miou(output, "test"), abs=0.011)
