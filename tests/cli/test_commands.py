"""Every command and script: usage on --help and on missing arguments, clean errors, listings.

Commands run in this process (the same ``main`` the console script calls) where only their
argument handling is tested; the console script itself runs in test_install.
"""

from __future__ import annotations

import re
import runpy
import sys

import pytest
from conftest import REPO
from userland import cli, run, script

from mmseg_beit.cli import COMMANDS, main
from mmseg_beit.utils.configs import shipped_configs

PYTHON_TOOLS = [
    "tools/train.py",
    "tools/test.py",
    "tools/infer.py",
    "tools/quickstart.py",
    "tools/model_converters/beit2mmseg.py",
    "tools/model_converters/hf2mmseg.py",
    "tools/dataset_converters/make_toy_ade20k.py",
    "tools/analysis_tools/benchmark.py",
    "tools/analysis_tools/attention_kernels.py",
]
SCRIPTS = {  # script: required arguments
    "dist_train.sh": 2,
    "dist_test.sh": 3,
    "slurm_train.sh": 3,
    "slurm_test.sh": 4,
}


def _exit_code(function, *args) -> int:
    try:
        return function(*args)
    except SystemExit as stop:
        return stop.code


def test_main_help_lists_every_subcommand(capsys):
    assert _exit_code(main, ["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_subcommand_help_shows_its_usage(capsys, command):
    assert _exit_code(main, [command, "--help"]) == 0
    assert f"usage: mmseg-beit {command}" in capsys.readouterr().out


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "configs"])
def test_subcommand_without_its_arguments_prints_usage(capsys, command):
    assert _exit_code(main, [command]) == 2
    assert "the following arguments are required" in capsys.readouterr().err


@pytest.mark.parametrize("tool", PYTHON_TOOLS)
def test_python_tool_help(monkeypatch, capsys, tool):
    monkeypatch.setattr(sys, "argv", [tool, "--help"])
    monkeypatch.syspath_prepend(str((REPO / tool).parent))  # the analysis tools' helper module
    assert _exit_code(runpy.run_path, str(REPO / tool), None, "__main__") == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("name, required", SCRIPTS.items())
def test_shell_script_usage(tmp_path, name, required):
    missing = run(script(name), tmp_path)
    assert missing.returncode == 2 and f"usage: tools/{name}" in missing.stderr
    helped = run(script(name, "--help"), tmp_path)
    assert helped.returncode == 0 and f"usage: tools/{name}" in helped.stdout
    assert "unbound variable" not in missing.stderr + helped.stderr


def test_run_tests_help_installs_nothing_and_runs_nothing(tmp_path):
    out = run(["bash", str(REPO / "tools/run_tests.sh"), "--help"], tmp_path, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("usage: bash tools/run_tests.sh")


def test_configs_lists_every_shipped_config_with_published_miou(capsys):
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    assert all(path.stem in out for path in shipped_configs())
    assert "56.7 (unilm), 56.33 (mmseg)" in out


def test_infer_without_any_input_image_fails_before_loading_a_model(capsys):
    assert main(["infer", "nothing/*.jpg", "--checkpoint", "missing.pth"]) == 2
    assert "no input images: nothing/*.jpg: no such file" in capsys.readouterr().err


def test_infer_on_a_gpu_the_machine_lacks_is_a_clean_error(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    (tmp_path / "a.png").write_bytes(b"")
    assert (
        main(["infer", str(tmp_path / "a.png"), "--checkpoint", "x.pth", "--device", "cuda"]) == 2
    )
    assert "has no CUDA GPU; use --device cpu" in capsys.readouterr().err


def test_test_out_takes_a_folder_not_a_results_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["test", "upernet_beit-tiny_toy", "x.pth", "--out", "result.pkl"]) == 2
    assert "--out takes a folder for PNG files, not 'result.pkl'" in capsys.readouterr().err
    assert not (tmp_path / "result.pkl").exists()


def test_unknown_config_name_suggests_the_closest(capsys):
    assert main(["train", "upernet_beit-tiny-toy"]) == 2
    assert "closest shipped configs: upernet_beit-tiny_toy" in capsys.readouterr().err


def test_console_entry_point_runs_a_subcommand(tmp_path):
    out = run(cli("configs", "--paths"), tmp_path)
    assert out.returncode == 0
    assert out.stdout.split() == [str(p) for p in shipped_configs()]


def test_model_stats_counts_every_parameter_and_flops(tmp_path):
    out = run([sys.executable, str(REPO / "tools/analysis_tools/model_stats.py"),
               "upernet_beit-tiny_toy", "--shape", "128", "128"], tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    from mmseg_beit.apis import load_segmentor

    model = load_segmentor("upernet_beit-tiny_toy")
    total = sum(p.numel() for p in model.parameters())
    listed = float(re.search(r"^total\s+([\d.]+)M", out.stdout, re.M).group(1))
    assert listed == round(total / 1e6, 2)
    assert "(training)" in out.stdout  # the auxiliary head has no inference FLOPs


def test_test_without_a_checkpoint_says_so_before_building_anything(capsys):
    assert main(["test", "upernet_beit-tiny_toy"]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint given: mmseg-beit test upernet_beit-tiny_toy CHECKPOINT" in err


def test_test_names_a_missing_checkpoint_as_a_checkpoint(capsys):
    assert main(["test", "upernet_beit-tiny_toy", "nosuch.pth"]) == 2
    assert "nosuch.pth: no such checkpoint file" in capsys.readouterr().err


def test_test_scores_its_checkpoint_not_the_configs_load_from(toy_checkpoint, tmp_path):
    """A fine-tuning config's load_from (its starting weights) is not loaded over the
    checkpoint under test (here it names a file that does not exist)."""
    from mmseg_beit.datasets import make_toy_ade20k

    make_toy_ade20k(tmp_path / "data" / "toy_ade20k", num_train=1, num_val=2)
    options = ["--cfg-options", "load_from=start_weights.pth"]
    out = run(cli("test", str(toy_checkpoint), *options), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "start_weights.pth" not in out.stdout + out.stderr
    assert "Iter(test) [2/2]" in out.stdout + out.stderr


@pytest.mark.parametrize("command", ["infer", "export"])
def test_a_missing_checkpoint_is_named_a_checkpoint(command, tmp_path, capsys):
    image = tmp_path / "a.png"
    image.write_bytes(b"")
    args = [str(image), "--checkpoint", "nosuch.pth"] if command == "infer" else ["nosuch.pth"]
    args += [] if command == "infer" else [str(tmp_path / "x.onnx")]
    assert main([command, *args]) != 0
    assert "nosuch.pth: no such checkpoint file" in capsys.readouterr().err


def test_export_without_a_checkpoint_warns_of_random_weights(tmp_path, capsys):
    assert main(["export", "upernet_beit-tiny_toy", str(tmp_path / "x.txt")]) == 2
    err = capsys.readouterr().err
    assert "no checkpoint given (--checkpoint): the exported model has random weights" in err
    assert "x.txt: the onnx format writes a .onnx file" in err
