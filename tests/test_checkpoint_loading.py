"""The safe loader: clear errors for missing, truncated, corrupt and non-fitting files."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_backbone_cfg
from safetensors.torch import save_file

from mmseg_beit.checkpoint import CheckpointError, atomic_save, load_file, state_dict_of
from mmseg_beit.checkpoint.pretrained import load_state_dict_checked
from mmseg_beit.models import BEiT


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.pth: no such checkpoint file"):
        load_file(tmp_path / "nope.pth")


def test_truncated_and_corrupt_files(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"w": torch.randn(1000)}, good)
    data = good.read_bytes()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"truncated\.pth: truncated or corrupt"):
        load_file(tmp_path / "truncated.pth")
    with pytest.raises(CheckpointError, match=r"junk\.pth"):
        load_file(tmp_path / "junk.pth")


def test_safetensors_round_trip_and_corruption(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"a": torch.arange(4.0)}, str(path))
    torch.testing.assert_close(load_file(path)["a"], torch.arange(4.0))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError, match=r"bad\.safetensors: not a readable safetensors file"):
        load_file(bad)


def test_state_dict_unwrapping():
    w = torch.ones(1)
    assert state_dict_of({"model": {"w": w}})["w"] is w
    assert state_dict_of({"module": {"w": w}})["w"] is w
    assert state_dict_of({"state_dict": {"w": w}, "meta": {}})["w"] is w
    assert state_dict_of({"w": w, "step": 3}) == {"w": w}
    with pytest.raises(CheckpointError, match=r"x\.pth: holds no tensors"):
        state_dict_of({"meta": {}}, "x.pth")


def test_wrong_architecture_lists_missing_unexpected_and_mismatched(tmp_path):
    model = BEiT(**tiny_backbone_cfg())
    state = BEiT(**tiny_backbone_cfg(embed_dims=64, num_layers=2, out_indices=[1])).state_dict()
    state["head.weight"] = torch.ones(3)
    with pytest.raises(CheckpointError) as error:
        load_state_dict_checked(model, state, "other.pth", strict=True)
    message = str(error.value)
    assert message.startswith("other.pth: does not fit BEiT:")
    assert "missing (layers.2." in message and "1 unexpected (head.weight)" in message
    assert "shape-mismatched (cls_token: file [1, 1, 64] vs model [1, 1, 32]" in message
    missing = sum(
        1
        for k in model.state_dict()
        if k.startswith(("layers.2.", "layers.3.")) and "index" not in k
    )
    assert f"{missing} missing" in message and "more" in message


def test_non_strict_loads_what_fits_and_reports(tmp_path):
    model = BEiT(**tiny_backbone_cfg())
    state = {
        k: torch.full_like(v, 0.5)
        for k, v in model.state_dict().items()
        if k.startswith("layers.0.")
    }
    report = load_state_dict_checked(model, state, "part.pth", strict=False)
    assert report.loaded == len(state) and report.missing and not report.unexpected
    torch.testing.assert_close(model.layers[0].ln1.weight.detach(), torch.full((32,), 0.5))
    with pytest.raises(CheckpointError, match="does not fit"):
        load_state_dict_checked(model, {"x": torch.ones(1)}, "none.pth", strict=False)


class _FailsHalfway:
    def __reduce__(self):
        raise RuntimeError("disk full, say")


def test_atomic_save_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.pth"
    with pytest.raises(RuntimeError, match="disk full"):
        atomic_save({"w": torch.ones(100), "then": _FailsHalfway()}, target)
    assert list(tmp_path.iterdir()) == []
    atomic_save({"w": torch.ones(1)}, target)
    assert list(tmp_path.iterdir()) == [target]
