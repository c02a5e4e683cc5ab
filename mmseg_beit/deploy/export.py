"""Writes a segmentor's window graph as ONNX or a torch.export program, for every input size.

The graph is :class:`~mmseg_beit.models.segmentors.window_graph.WindowGraph`: ``image``
(N, 3, H, W) float32 RGB 0..255 -> ``logits`` (N, classes, H, W), batch, height and width
dynamic (64 px and up; the relative position bias is resampled inside the graph for each token
grid). The file also carries the config, classes and window settings, so
``mmseg-beit infer --checkpoint MODEL.onnx`` needs nothing else.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch

from mmseg_beit.apis.exported import export_metadata
from mmseg_beit.apis.inference import load_segmentor, windows_of
from mmseg_beit.utils.io import atomic_path, check_not_input

FORMATS = {"onnx": ".onnx", "torch-export": ".pt2"}
MIN_SIDE, MAX_SIDE = 64, 8192  # the pyramid's 1/32 level needs 2 cells


def _dynamic_shapes() -> dict:
    batch = torch.export.Dim("batch", min=1, max=256)
    height = torch.export.Dim("height", min=MIN_SIDE, max=MAX_SIDE)
    width = torch.export.Dim("width", min=MIN_SIDE, max=MAX_SIDE)
    return {"image": {0: batch, 2: height, 3: width}}


def require_onnx() -> None:
    """Raises ImportError naming the extra to install when the ONNX exporter's packages are
    missing (torch imports onnxscript only once it exports, with no hint)."""
    for name in ("onnx", "onnxscript"):
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ImportError(
                f"ONNX export needs {name} ({error}): pip install 'mmseg-beit[deploy]' "
                "(onnx, onnxscript, onnxruntime)"
            ) from None


def export(
    source: str | os.PathLike,
    out: str | os.PathLike,
    checkpoint: str | os.PathLike | None = None,
    fmt: str = "onnx",
    opset: int = 18,
) -> Path:
    """Exports ``source`` (a config, shipped config name or training checkpoint) with
    ``checkpoint``'s weights to ``out``, atomically.

    Raises:
        ValueError: Unknown format, or an output suffix that is not the format's.
        ImportError: ONNX export without the deploy extra.
    """
    out = Path(out)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    if out.suffix != FORMATS[fmt]:
        raise ValueError(f"{out}: the {fmt} format writes a {FORMATS[fmt]} file")
    check_not_input(out, *(p for p in (source, checkpoint) if p))
    if fmt == "onnx":
        require_onnx()
    model = load_segmentor(source, checkpoint, device="cpu", precision="fp32")
    graph, settings, _ = windows_of(model)
    metadata = export_metadata(model.cfg, model.dataset_meta, settings)
    # Sides that are not multiples of 16: an example on the grid would let export assume one.
    example = (torch.rand(2, 3, 2 * MIN_SIDE + 7, 3 * MIN_SIDE + 5) * 255,)
    with atomic_path(out) as tmp, torch.no_grad():
        if fmt == "onnx":
            program = torch.onnx.export(
                graph, example, dynamo=True, dynamic_shapes=_dynamic_shapes(),
                input_names=["image"], output_names=["logits"], opset_version=opset,
            )  # fmt: skip
            program.model.metadata_props.update(metadata)
            program.save(str(tmp))
        else:
            program = torch.export.export(graph, example, dynamic_shapes=_dynamic_shapes())
            torch.export.save(program, str(tmp), extra_files=metadata)
    return out
