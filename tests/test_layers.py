"""Imports only run down the layers (read from the code), and the model layer stays light."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from conftest import REPO

# Higher numbers may import lower ones (and their own layer), never the reverse.
LAYERS = {
    "cli": 6,
    "runtime": 5,
    "deploy": 4,
    "apis": 3,
    "engine": 2,
    "evaluation": 2,
    "checkpoint": 2,
    "datasets": 2,
    "models": 1,
    "utils": 0,
    "registry": 0,
    "compat": 0,
    "version": 0,
}
MODULES = sorted(
    p
    for p in (REPO / "mmseg_beit").rglob("*.py")
    if "configs" not in p.parts and p.name != "__init__.py"
)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if parts[0] == "mmseg_beit" and len(parts) > 1 else None


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_module_imports_only_its_layer_and_below(path):
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    own = _layer(module)
    upward = [name for name in _imports(path) if (_layer(name) or -1) > own]
    assert not upward, f"{module} (layer {own}) imports higher layers: {upward}"


def test_importing_the_models_loads_neither_api_nor_converters():
    code = (
        "import sys, mmseg_beit.models; "
        "print(sorted(m for m in sys.modules if m.startswith('mmseg_beit.') and "
        "m.split('.')[1] in ('apis', 'cli', 'deploy', 'runtime') or "
        "m in ('mmseg_beit.checkpoint.official', 'mmseg_beit.checkpoint.huggingface')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
