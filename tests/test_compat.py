"""mmcv-lite fallback for mmcv.ops, and safe loading of mmengine checkpoints."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from mmseg_beit import compat
from mmseg_beit.checkpoint.loading import CheckpointError, load_file


def test_mmseg_models_import_in_a_fresh_interpreter():
    code = "import mmseg_beit, mmseg.models, mmcv.ops; print(mmcv.ops.point_sample.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    expected = (
        "mmseg_beit.compat" if not compat.has_compiled_mmcv_ops() else "mmcv.ops.point_sample"
    )
    assert out.stdout.strip() == expected


def test_point_sample_matches_bilinear_interpolation():
    feats = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    # x = (j + 0.5) / W, y = (i + 0.5) / H is the centre of pixel (i, j) with align_corners=False
    points = torch.tensor([[[0.5 / 5, 0.5 / 4], [2.5 / 5, 3.5 / 4], [3.0 / 5, 2.5 / 4]]] * 2)
    out = compat.point_sample(feats, points)
    assert out.shape == (2, 3, 3)
    expected_00 = feats[:, :, 0, 0]
    expected_32 = feats[:, :, 3, 2]
    expected_mid = (feats[:, :, 2, 2] + feats[:, :, 2, 3]) / 2  # halfway between two columns
    torch.testing.assert_close(out[:, :, 0], expected_00)
    torch.testing.assert_close(out[:, :, 1], expected_32)
    torch.testing.assert_close(out[:, :, 2], expected_mid)
    grid = compat.point_sample(feats, points.unsqueeze(1))  # (N, 1, P, 2) -> (N, C, 1, P)
    torch.testing.assert_close(grid[:, :, 0], out)


@pytest.mark.skipif(compat.has_compiled_mmcv_ops(), reason="compiled mmcv ops are installed")
def test_missing_op_imports_but_fails_clearly_on_use():
    from mmcv.ops import CrissCrossAttention, sigmoid_focal_loss

    assert not isinstance(torch.nn.Linear(1, 1), CrissCrossAttention)
    with pytest.raises(compat.MissingMMCVOpError, match=r"mmcv\.ops\.CrissCrossAttention"):
        CrissCrossAttention(8)
    with pytest.raises(compat.MissingMMCVOpError, match="sigmoid_focal_loss"):
        sigmoid_focal_loss(torch.zeros(1), torch.zeros(1), 2.0, 0.25, None, "mean")
    # mmseg's own `except ModuleNotFoundError` guards around submodule imports still work
    with pytest.raises(ModuleNotFoundError):
        from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttention  # noqa: F401


def test_fallback_is_not_installed_when_compiled_ops_exist(monkeypatch):
    monkeypatch.delitem(sys.modules, "mmcv.ops")
    monkeypatch.setattr(compat, "has_compiled_mmcv_ops", lambda: True)
    assert compat.install_mmcv_ops_fallback() is False
    assert "mmcv.ops" not in sys.modules


def _runner_like_checkpoint() -> dict:
    from mmengine.logging import HistoryBuffer, MessageHub

    hub = MessageHub.get_instance("compat-test")
    for value in (1.0, 2.0, 4.0):
        hub.update_scalar("train/loss", value)
    hub.update_info("iter", 7)
    return {
        "meta": {"epoch": 0, "iter": 7, "seed": np.int64(3), "cfg": "model = dict()"},
        "state_dict": {"w": torch.ones(2)},
        "message_hub": hub.state_dict(),
        "optimizer": {"state": {}, "param_groups": [{"lr": np.float64(0.1)}]},
        "buffer": HistoryBuffer([np.float32(1.5)], [1]),
    }


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / "runner.pth"
    torch.save(_runner_like_checkpoint(), path)
    loaded = torch.load(path, weights_only=True)  # what mmengine's resume / load_from does now
    buffer = loaded["message_hub"]["log_scalars"]["train/loss"]
    assert buffer.mean() == pytest.approx(7 / 3)
    assert buffer.max() == 4.0
    assert loaded["meta"]["seed"] == 3
    assert load_file(path)["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.1)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _WalksGetattr:
    def __reduce__(self):  # getattr(HistoryBuffer, '__init__') is the first step to __globals__
        from mmengine.logging import HistoryBuffer

        return (getattr, (HistoryBuffer, "__init__"))


def test_malicious_checkpoint_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "x": _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pth: refused.*system"):
        load_file(path)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path)  # mmengine's own path: default weights_only=True, never overridden
    assert not marker.exists()


def test_getattr_in_checkpoints_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / "walk.pth"
    torch.save({"x": _WalksGetattr()}, path)
    with pytest.raises(CheckpointError, match=r"walk\.pth"):
        load_file(path)


def test_compat_module_is_documented_and_idempotent():
    compat.apply()
    compat.apply()
    assert "mmcv-lite" in textwrap.dedent(compat.__doc__)
