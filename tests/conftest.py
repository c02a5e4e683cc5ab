"""Shared fixtures: tiny model configs, the generated toy dataset, the optional ADE20K samples."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.registry import init_default_scope

import mmseg_beit  # noqa: F401  (applies compat, registers modules)

init_default_scope("mmseg_beit")  # as every config of this repo does

REPO = Path(__file__).resolve().parents[1]
ADE_SAMPLES = REPO.parent / "shared" / "data" / "ade20k_samples"
RELPOS_CASES = REPO.parent / "shared" / "reference" / "relpos_interp2d_cases.pt"


def tiny_backbone_cfg(**overrides) -> dict:
    """A 4-block, 32-wide BEiT; mmseg's BEiT accepts the same arguments."""
    cfg = dict(
        img_size=64,
        patch_size=16,
        embed_dims=32,
        num_layers=4,
        num_heads=4,
        out_indices=[0, 1, 2, 3],
        qv_bias=True,
        norm_cfg=dict(type="LN", eps=1e-6),
        init_values=0.1,
    )
    cfg.update(overrides)
    return cfg


def randomize_(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Fills every parameter and BN statistic with random values (no zeros, no identities)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.dtype.is_floating_point:
                values = torch.randn(tensor.shape, generator=generator) * 0.2
                if name.endswith("running_var"):
                    values = values.abs() + 0.5
                tensor.copy_(values)
    return module


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    """A small generated toy dataset shared by the tests."""
    from mmseg_beit.datasets import make_toy_ade20k

    return make_toy_ade20k(tmp_path_factory.mktemp("toy"), num_train=8, num_val=4, seed=1)


@pytest.fixture(scope="session")
def ade_samples() -> Path:
    if not (ADE_SAMPLES / "images").is_dir():
        pytest.skip(f"ADE20K samples not present at {ADE_SAMPLES}")
    return ADE_SAMPLES


def uper_head(**extra) -> torch.nn.Module:
    """A 128-wide UPerHead (this package's), random weights, eval mode."""
    from mmseg_beit.registry import MODELS

    cfg = dict(
        type="mmseg_beit.UPerHead",
        in_channels=[128] * 4,
        in_index=[0, 1, 2, 3],
        channels=128,
        num_classes=5,
        norm_cfg=dict(type="BN", requires_grad=True),
        **extra,
    )
    return randomize_(MODELS.build(cfg)).eval()


@pytest.fixture(scope="session")
def toy_checkpoint(tmp_path_factory) -> Path:
    """Random weights of the toy config, saved as training saves them (config in the meta)."""
    from mmseg_beit.apis import load_segmentor

    model = load_segmentor(REPO / "configs/beit/upernet_beit-tiny_toy.py")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.05)
    meta = {"cfg": model.cfg.pretty_text, "dataset_meta": model.dataset_meta}
    path = tmp_path_factory.mktemp("toy_checkpoint") / "toy.pth"
    torch.save({"state_dict": model.state_dict(), "meta": meta}, path)
    return path
