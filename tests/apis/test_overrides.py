"""Overrides that cannot take effect are refused with the key that would; config files that do
not parse are named with their line."""

from __future__ import annotations

import pytest
from conftest import REPO
from mmengine.config import Config

from mmseg_beit.apis import load_config
from mmseg_beit.apis.overrides import LIVE_KEYS, check_override_key, node_name
from mmseg_beit.cli import main
from mmseg_beit.utils.configs import shipped_configs

CONFIG = str(REPO / "configs/beit/upernet_beit-tiny_toy.py")


def _paths(node, path):
    yield path
    if isinstance(node, (dict, list, tuple)):
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            yield from _paths(value, [*path, str(key)])


@pytest.mark.parametrize("config", shipped_configs(), ids=lambda p: p.stem)
def test_every_key_of_every_shipped_config_is_accepted(config):
    cfg = Config.fromfile(str(config))
    for top in (k for k in cfg if k in LIVE_KEYS):
        for path in _paths(cfg[top], [top]):
            check_override_key(cfg, ".".join(path))  # raises on a key it would refuse


def test_a_variable_already_copied_into_the_config_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", CONFIG, "--cfg-options", "max_iters=5"]) == 2
    err = capsys.readouterr().err
    assert "'max_iters' is a variable whose value the config already copied into" in err
    assert "param_scheduler[1].end, train_cfg.max_iters" in err and "train --iters N" in err
    assert not (tmp_path / "work_dirs").exists()


def test_a_misspelt_variable_is_not_corrected_to_a_key_that_does_nothing():
    with pytest.raises(ValueError) as error:
        load_config(CONFIG, {"max_iter": 5})
    message = str(error.value)
    assert "the config has no key 'max_iter'" in message
    assert "did you mean 'max_iters'" not in message
    assert "'max_iters' is a variable" in message and "train_cfg.max_iters" in message


@pytest.mark.parametrize(
    "key, owner, hint",
    [
        ("model.test_cfg.strde", "the segmentor's test_cfg (model.test_cfg)", "stride"),
        ("env_cfg.cudnn_benchmarkk", "env_cfg", "cudnn_benchmark"),
        ("model.backbone.embed_dim", "BEiT (model.backbone)", "embed_dims"),
        ("train_cfg.max_iter", "IterBasedTrainLoop (train_cfg)", "max_iters"),
        ("param_scheduler.1.ends", "PolyLR (param_scheduler[1])", "end"),
        ("optim_wrapper.optimizer.lrr", "AdamW (optim_wrapper.optimizer)", "lr"),
        ("test_evaluator.iou_metric", "IoUMetric (test_evaluator)", "iou_metrics"),
    ],
)
def test_unknown_keys_below_the_top_level_are_refused(key, owner, hint):
    with pytest.raises(ValueError) as error:
        load_config(CONFIG, {key: 1})
    name = key.rsplit(".", 1)[1]
    assert f"{key}: {owner} takes no {name!r} (did you mean {hint!r}?)" in str(error.value)


def test_unknown_nested_key_is_refused_by_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", CONFIG, "--cfg-options", "model.test_cfg.strde=64"]) == 2
    assert "model.test_cfg.strde: the segmentor's test_cfg" in capsys.readouterr().err


def test_a_valid_key_the_config_does_not_set_yet_is_accepted():
    cfg = load_config(CONFIG, {"model.test_cfg.crop_batch": 2, "model.backbone.with_cp": True})
    assert cfg.model.test_cfg.crop_batch == 2 and cfg.model.backbone.with_cp is True


def test_node_names_show_list_items_by_index():
    assert node_name(["param_scheduler", "1", "end"]) == "param_scheduler[1].end"


@pytest.mark.parametrize("broken", ["main", "base"])
def test_a_syntax_error_names_the_config_file_and_line(tmp_path, capsys, broken):
    good, bad = "x = 1\n", "a = 1\nb = dict(c=(1,\n    2 3))\n"
    (tmp_path / "base.py").write_text(bad if broken == "base" else good)
    main_text = '_base_ = ["./base.py"]\n' + (bad if broken == "main" else good)
    (tmp_path / "main.py").write_text(main_text)
    line = 4 if broken == "main" else 3
    assert main(["train", str(tmp_path / "main.py")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / (broken + '.py')}, line {line}: invalid syntax" in err
    assert "<unknown>" not in err
