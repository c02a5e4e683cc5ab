"""Every command and script: usage on --help and on missing arguments, clean errors, listings."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO
from userland import cli, run, script

from mmseg_beit.cli import COMMANDS
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


def test_main_help_lists_every_subcommand(tmp_path):
    out = run(cli("--help"), tmp_path)
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize("command", list(COMMANDS))
def test_subcommand_help_and_missing_arguments(tmp_path, command):
    helped = run(cli(command, "--help"), tmp_path)
    assert helped.returncode == 0 and f"usage: mmseg-beit {command}" in helped.stdout
    if command != "configs":  # the one that needs no argument
        missing = run(cli(command), tmp_path)
        assert missing.returncode == 2 and "the following arguments are required" in missing.stderr


@pytest.mark.parametrize("tool", PYTHON_TOOLS)
def test_python_tool_help(tmp_path, tool):
    out = run([sys.executable, str(REPO / tool), "--help"], tmp_path)
    assert out.returncode == 0 and "usage:" in out.stdout


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


def test_configs_lists_every_shipped_config_with_published_miou(tmp_path):
    out = run(cli("configs"), tmp_path)
    assert out.returncode == 0
    for path in shipped_configs():
        assert path.stem in out.stdout
    assert "56.7 (unilm), 56.33 (mmseg)" in out.stdout


def test_infer_without_any_input_image_fails_before_loading_a_model(tmp_path):
    out = run(cli("infer", "nothing/*.jpg", "--checkpoint", "missing.pth"), tmp_path)
    assert out.returncode == 2
    assert "no input images: nothing/*.jpg: no such file" in out.stderr


def test_infer_on_a_gpu_the_machine_lacks_is_a_clean_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    (tmp_path / "a.png").write_bytes(b"")
    out = run(cli("infer", "a.png", "--checkpoint", "x.pth", "--device", "cuda"), tmp_path)
    assert out.returncode == 2 and "has no CUDA GPU; use --device cpu" in out.stderr
    assert "Traceback" not in out.stderr


def test_test_out_takes_a_folder_not_a_results_file(tmp_path):
    out = run(cli("test", "upernet_beit-tiny_toy", "x.pth", "--out", "result.pkl"), tmp_path)
    assert (
        out.returncode == 2 and "--out takes a folder for PNG files, not 'result.pkl'" in out.stderr
    )
    assert not (tmp_path / "result.pkl").exists()


def test_unknown_config_name_suggests_the_closest(tmp_path):
    out = run(cli("train", "upernet_beit-tiny-toy"), tmp_path)
    assert out.returncode == 2 and "closest shipped configs: upernet_beit-tiny_toy" in out.stderr
