"""The safe loader and writer: clear errors for missing, truncated, non-checkpoint, unsafe and
non-fitting files; outputs written whole, in their suffix's format, never over an input."""

from __future__ import annotations

import os
import zipfile

import pytest
import torch
from conftest import REPO, tiny_backbone_cfg
from safetensors.torch import save_file

from mmseg_beit.checkpoint import (
    CheckpointError,
    load_file,
    load_state_dict_checked,
    save_checkpoint,
    state_dict_of,
)
from mmseg_beit.models import BEiT


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.pth: no such checkpoint file"):
        load_file(tmp_path / "nope.pth")


def _load_segmentor(path):
    from mmseg_beit.apis import load_segmentor

    load_segmentor(REPO / "configs/beit/upernet_beit-tiny_toy.py", path)


def _pretrained_backbone(path):
    BEiT(**tiny_backbone_cfg(pretrained=str(path))).init_weights()


@pytest.mark.parametrize("load", [load_file, _load_segmentor, _pretrained_backbone])
def test_missing_checkpoint_is_caught_as_file_not_found_error(tmp_path, load):
    try:  # as code written for mmseg / mmengine catches a missing checkpoint
        load(tmp_path / "nope.pth")
    except FileNotFoundError as error:
        assert f"{tmp_path / 'nope.pth'}: no such checkpoint file" in str(error)
    else:
        pytest.fail("no error for a missing checkpoint")


def test_truncated_file_is_reported_as_truncated(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"w": torch.randn(1000)}, good)
    data = good.read_bytes()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.pth: truncated or corrupt"):
        load_file(tmp_path / "truncated.pth")


def test_text_file_named_pth_is_not_a_checkpoint_rather_than_unsafe(tmp_path):
    (tmp_path / "notes.pth").write_text("model trained on 2026-11-20, lr 3e-5\n")
    with pytest.raises(CheckpointError, match=r"notes\.pth: not a checkpoint") as error:
        load_file(tmp_path / "notes.pth")
    assert "run code" not in str(error.value)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_that_would_run_code_is_refused_as_unsafe(tmp_path):
    torch.save({"w": torch.ones(1), "x": _RunsCode()}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match=r"evil\.pth: refused: .*system.*could run code"):
        load_file(tmp_path / "evil.pth")


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


def test_failed_save_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out.pth"
    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint({"w": torch.ones(100)}, {"then": _FailsHalfway()}, target)
    assert list(tmp_path.iterdir()) == []


def test_saved_file_gets_normal_permissions_not_the_temporary_files(tmp_path):
    old = os.umask(0o022)
    try:
        save_checkpoint({"w": torch.ones(1)}, {}, tmp_path / "out.pth")
    finally:
        os.umask(old)
    assert (tmp_path / "out.pth").stat().st_mode & 0o777 == 0o644


def test_output_suffix_picks_the_format(tmp_path):
    save_checkpoint({"w": torch.ones(2)}, {"note": "x"}, tmp_path / "a.safetensors")
    save_checkpoint({"w": torch.ones(2)}, {"note": "x"}, tmp_path / "a.pth")
    assert not zipfile.is_zipfile(tmp_path / "a.safetensors")  # safetensors, not a torch zip
    assert zipfile.is_zipfile(tmp_path / "a.pth")
    for name in ("a.safetensors", "a.pth"):
        loaded = load_file(tmp_path / name)
        assert loaded["meta"] == {"note": "x"}
        torch.testing.assert_close(loaded["state_dict"]["w"], torch.ones(2))
    with pytest.raises(CheckpointError, match=r"a\.ckpt: the output must end in one of"):
        save_checkpoint({"w": torch.ones(2)}, {}, tmp_path / "a.ckpt")


def test_save_refuses_to_overwrite_an_input(tmp_path):
    source = tmp_path / "in.pth"
    torch.save({"w": torch.ones(1)}, source)
    before = source.read_bytes()
    with pytest.raises(CheckpointError, match=r"in\.pth: would overwrite the input"):
        save_checkpoint({"w": torch.zeros(1)}, {}, tmp_path / "." / "in.pth", inputs=(source,))
    assert source.read_bytes() == before
