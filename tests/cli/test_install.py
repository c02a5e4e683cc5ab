"""A non-editable install used from another folder: shipped configs by name, the toy data made
on demand, checkpoint-only test and inference, imports in any order."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from conftest import REPO
from userland import run


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtualenv holding a wheel of this checkout (dependencies from the parent)."""
    root = tmp_path_factory.mktemp("install")
    wheels = root / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    venv.create(root / "venv", with_pip=True)
    python = str(root / "venv" / "bin" / "python")
    # The dependencies (torch, mmseg...) from this environment, not this checkout's package:
    # a path line adds the folder without running its .pth files (the editable install's).
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    parents = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (Path(site) / "parent_environment.pth").write_text("\n".join(sorted(parents)) + "\n")
    wheel = next(wheels.glob("mmseg_beit-*.whl"))
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    return root / "venv" / "bin"


def test_package_comes_from_the_install_not_the_checkout(installed, tmp_path):
    code = "import mmseg_beit; print(mmseg_beit.__file__)"
    out = run([str(installed / "python"), "-c", code], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(installed.parent) in out.stdout and str(REPO) not in out.stdout


def test_installed_command_trains_tests_and_infers_from_another_folder(installed, tmp_path):
    command = str(installed / "mmseg-beit")
    listed = run([command, "configs"], tmp_path)
    assert listed.returncode == 0 and "upernet_beit-tiny_toy" in listed.stdout
    trained = run(
        [command, "train", "upernet_beit-tiny_toy", "--work-dir", "W",
         "--cfg-options", "train_cfg.max_iters=2"],
        tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (tmp_path / "data" / "toy_ade20k" / "images" / "validation").is_dir()  # made on demand
    tested = run([command, "test", "W/iter_2.pth"], tmp_path)  # the checkpoint carries its config
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert "mIoU" in tested.stdout + tested.stderr
    image = str(tmp_path / "data/toy_ade20k/images/validation/toy_00000.jpg")
    inferred = run([command, "infer", image, "--checkpoint", "W/iter_2.pth"], tmp_path)
    assert inferred.returncode == 0, inferred.stderr[-3000:]
    assert (tmp_path / "outputs" / "toy_00000_overlay.png").is_file()


def test_mmseg_apis_import_before_the_package_on_mmcv_lite(installed, tmp_path):
    code = "import mmseg.apis; import mmseg_beit; print('ok')"
    out = run([str(installed / "python"), "-c", code], tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
