"""Running what users run: shipped configs in a fresh work folder, through the real commands.

A run folder holds what a user's folder would: ``data/ade/ADEChallengeData2016`` (the real ADE20K
samples of ``../shared`` when present, else generated scenes of ADE20K's sizes and layout) and
``pretrain/`` files in the official layouts at the paths the configs name. Configs are shrunk in
width and depth only, through ``--cfg-options``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from conftest import ADE_SAMPLES, REPO

from mmseg_beit.checkpoint.official import convert_backbone
from mmseg_beit.datasets.toy_ade20k import make_scene
from mmseg_beit.models.utils.relative_position import relative_position_index, table_rows

WIDTH, LAYERS, HEADS = 32, 4, 2
ADE_ROOT = "data/ade/ADEChallengeData2016"


def make_ade_folder(run_dir: Path) -> str:
    """ADE20K's layout under ``run_dir`` with 2 training and 1 validation pairs; returns which
    data it holds ('real' or 'generated')."""
    root = run_dir / ADE_ROOT
    for split in ("training", "validation"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "annotations" / split).mkdir(parents=True, exist_ok=True)
    if (ADE_SAMPLES / "images").is_dir():
        images = sorted((ADE_SAMPLES / "images").glob("*.jpg"))
        for split, chosen in (("training", images[:2]), ("validation", images[2:3])):
            for image in chosen:  # linked, never copied
                label = ADE_SAMPLES / "annotations" / f"{image.stem}.png"
                (root / "images" / split / image.name).symlink_to(image)
                (root / "annotations" / split / label.name).symlink_to(label)
        return "real"
    rng = np.random.default_rng(0)
    for split, count in (("training", 2), ("validation", 1)):
        for i in range(count):
            image, label = make_scene(rng, int(rng.integers(480, 560)), int(rng.integers(600, 700)))
            cv2.imwrite(str(root / "images" / split / f"ADE_{split}_{i}.jpg"), image)
            cv2.imwrite(str(root / "annotations" / split / f"ADE_{split}_{i}.png"), label)
    return "generated"


def _official_beit(grid: int = 14) -> dict:
    """An official (unilm / timm) BEiT checkpoint of the shrunk size, 224 tables, random."""
    generator = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=generator) * 0.02

    state = {"cls_token": rand(1, 1, WIDTH), "patch_embed.proj.weight": rand(WIDTH, 3, 16, 16)}
    state["patch_embed.proj.bias"] = rand(WIDTH)
    for i in range(LAYERS):
        block = f"blocks.{i}."
        state |= {
            block + "norm1.weight": torch.ones(WIDTH),
            block + "norm1.bias": rand(WIDTH),
            block + "attn.qkv.weight": rand(3 * WIDTH, WIDTH),
            block + "attn.q_bias": rand(WIDTH),
            block + "attn.v_bias": rand(WIDTH),
            block + "attn.relative_position_bias_table": rand(table_rows((grid, grid)), HEADS),
            block + "attn.relative_position_index": relative_position_index((grid, grid)),
            block + "attn.proj.weight": rand(WIDTH, WIDTH),
            block + "attn.proj.bias": rand(WIDTH),
            block + "norm2.weight": torch.ones(WIDTH),
            block + "norm2.bias": rand(WIDTH),
            block + "mlp.fc1.weight": rand(4 * WIDTH, WIDTH),
            block + "mlp.fc1.bias": rand(4 * WIDTH),
            block + "mlp.fc2.weight": rand(WIDTH, 4 * WIDTH),
            block + "mlp.fc2.bias": rand(WIDTH),
            block + "gamma_1": torch.full((WIDTH,), 0.1),
            block + "gamma_2": torch.full((WIDTH,), 0.1),
        }
    return {"model": state}


def _vit(grid: int = 14) -> dict:
    """A ViT backbone checkpoint (this package's keys, as the Hugging Face converter writes)."""
    official = _official_beit(grid)["model"]
    vit_only = ("relative_position", "q_bias", "v_bias", "gamma_1", "gamma_2")
    official = {k: v for k, v in official.items() if not any(p in k for p in vit_only)}
    state = convert_backbone(official).state_dict
    for i in range(LAYERS):
        state[f"layers.{i}.attn.qkv.bias"] = torch.zeros(3 * WIDTH)
    state["pos_embed"] = torch.randn(1, grid * grid + 1, WIDTH) * 0.02
    return {"state_dict": state, "meta": {"relative_position_grid": [grid, grid]}}


def make_pretrained(run_dir: Path, cfg) -> None:
    """The file a config's backbone ``init_cfg`` names, in that backbone's layout."""
    backbone = (cfg.model.get("module") or cfg.model).backbone
    init = backbone.get("init_cfg") or {}
    if init.get("type") != "Pretrained":
        return
    path = run_dir / init["checkpoint"]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(_vit() if backbone.get("abs_pos_embed") else _official_beit(), path)


def shrink_options(cfg) -> list[str]:
    """``--cfg-options`` that shrink a config's model in width and depth, nothing else."""
    prefix = "model.module." if "module" in cfg.model else "model."
    return [
        f"{prefix}backbone.embed_dims={WIDTH}",
        f"{prefix}backbone.num_layers={LAYERS}",
        f"{prefix}backbone.num_heads={HEADS}",
        f"{prefix}backbone.out_indices=[0,1,2,3]",
        f"{prefix}neck.embed_dim={WIDTH}",
        f"{prefix}decode_head.in_channels=[{WIDTH},{WIDTH},{WIDTH},{WIDTH}]",
        f"{prefix}decode_head.channels=16",
        f"{prefix}auxiliary_head.in_channels={WIDTH}",
        f"{prefix}auxiliary_head.channels=8",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Runs a command as a user would; the several processes of a dist script get one thread
    each (2 cores here)."""
    env = dict(os.environ, PORT=str(free_port()), PYTHONFAULTHANDLER="1")
    if command[0] == "bash":
        env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def cli(*args: str) -> list[str]:
    """``mmseg-beit ARGS`` through this interpreter."""
    return [sys.executable, "-m", "mmseg_beit.cli", *args]


def script(name: str, *args: str) -> list[str]:
    """``bash tools/NAME ARGS`` of this checkout."""
    return ["bash", str(REPO / "tools" / name), *args]


def logged_miou(output: str, loop: str) -> float:
    """The last mIoU a run logged for ``loop`` ('val' in training, 'test')."""
    found = re.findall(rf"Iter\({loop}\) \[\d+/\d+\].*?mIoU: (\d+\.\d+)", output)
    assert found, output[-3000:]
    return float(found[-1])
