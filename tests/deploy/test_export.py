"""Export: onnxruntime and torch.export give PyTorch's logits at sizes the export never saw, and
the inference API runs them through the same windows, to the same files."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO
from userland import cli, run

from mmseg_beit.apis import load_segmentor, segment
from mmseg_beit.deploy import export
from mmseg_beit.models.segmentors.window_graph import WindowGraph

pytest.importorskip("onnxruntime")
TOY = REPO / "configs/beit/upernet_beit-tiny_toy.py"


@pytest.fixture(scope="module")
def checkpoint(toy_checkpoint, tmp_path_factory):
    """A copy of the toy checkpoint in a folder of its own (exports are written beside it)."""
    path = tmp_path_factory.mktemp("export") / "toy.pth"
    shutil.copy(toy_checkpoint, path)
    return path


@pytest.fixture(scope="module")
def exported(checkpoint):
    onnx = export(checkpoint, checkpoint.with_suffix(".onnx"))
    program = export(checkpoint, checkpoint.with_suffix(".pt2"), fmt="torch-export")
    return onnx, program


@pytest.fixture(scope="module")
def graph(checkpoint):
    return WindowGraph(load_segmentor(checkpoint)).eval()


@pytest.mark.parametrize("shape", [(1, 3, 97, 211), (3, 3, 64, 64), (1, 3, 300, 130)])
def test_onnxruntime_logits_equal_pytorch_at_sizes_the_export_never_saw(exported, graph, shape):
    session = load_segmentor(exported[0])
    image = torch.rand(*shape) * 255
    with torch.no_grad():
        expected = graph(image)
    got = session.window(image)
    assert got.shape == (shape[0], 5, *shape[2:])
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def test_one_export_serves_two_sizes_without_size_constants(exported, graph):
    session = load_segmentor(exported[0])
    for shape in ((1, 3, 128, 128), (1, 3, 176, 96)):  # two token grids, one file
        image = torch.rand(*shape) * 255
        with torch.no_grad():
            torch.testing.assert_close(session.window(image), graph(image), atol=1e-4, rtol=0)


def test_torch_export_program_equals_pytorch(exported, graph):
    program = load_segmentor(exported[1])
    image = torch.rand(2, 3, 81, 147) * 255
    with torch.no_grad():
        torch.testing.assert_close(program.window(image), graph(image), atol=1e-4, rtol=0)


@pytest.mark.parametrize("tta", [False, True])
def test_inference_runtime_equals_the_segmentors_test_mode(checkpoint, toy_root, tta):
    model = load_segmentor(checkpoint, tta=tta)
    image = sorted((toy_root / "images" / "validation").glob("*.jpg"))[0]
    from mmengine.dataset import pseudo_collate

    from mmseg_beit.utils.images import read_image

    batch = pseudo_collate([model.inference_pipeline(dict(img=read_image(image)))])
    with torch.no_grad():
        expected = model.test_step(batch)[0].seg_logits.data.softmax(0)
    got = torch.from_numpy(segment(model, image, with_probs=True)[0].probs)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_infer_with_onnxruntime_writes_pytorchs_files(exported, checkpoint, toy_root, tmp_path):
    images = str(toy_root / "images" / "validation")
    for backend, weights in (("pytorch", checkpoint), ("onnxruntime", exported[0])):
        command = cli("infer", images, "--checkpoint", str(weights), "--out-dir", backend)
        out = run([*command, "--backend", backend], tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
    names = sorted(p.name for p in (tmp_path / "pytorch").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "onnxruntime").iterdir())
    for name in names:
        if name.endswith("_overlay.png"):
            continue
        a = cv2.imread(str(tmp_path / "pytorch" / name), cv2.IMREAD_UNCHANGED)
        b = cv2.imread(str(tmp_path / "onnxruntime" / name), cv2.IMREAD_UNCHANGED)
        assert np.mean(a == b) > 0.999, name  # argmax ties may fall apart at 1e-6


def test_export_command_refuses_a_suffix_that_is_not_the_formats(checkpoint, tmp_path):
    out = run(cli("export", str(checkpoint), "model.pt2"), tmp_path)
    assert out.returncode == 2 and "the onnx format writes a .onnx file" in out.stderr
