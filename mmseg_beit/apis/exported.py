"""Exported segmentors (ONNX, torch.export) behind the same inference API as PyTorch ones."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config

from mmseg_beit.apis.runtime import WindowSettings

EXPORTED_SUFFIXES = (".onnx", ".pt2")
# What an export carries beside the graph: the config (test pipeline, classes), the class names
# and palette, and how windows are placed.
META_KEYS = ("mmseg_beit.cfg", "mmseg_beit.dataset_meta", "mmseg_beit.window")


def export_metadata(cfg: Config, dataset_meta: dict, settings: WindowSettings) -> dict[str, str]:
    """The strings stored in an exported file (ONNX metadata_props, torch.export extra files)."""
    values = (cfg.pretty_text, json.dumps(dataset_meta), json.dumps(dataclasses.asdict(settings)))
    return dict(zip(META_KEYS, values))


class ExportedSegmentor:
    """An exported window graph with what :func:`~mmseg_beit.apis.segment` needs.

    Attributes:
        cfg: The config the model was exported with.
        dataset_meta: Class names and palette.
        settings: Window placement (the exported model's test mode).
        inference_pipeline: The test pipeline for in-memory images.
        backend: 'onnxruntime' or 'torch-export'.
    """

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        from mmseg_beit.apis.inference import inference_pipeline

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such exported model")
        if path.suffix == ".onnx":
            metadata = self._open_onnx(path, threads)
        elif path.suffix == ".pt2":
            metadata = self._open_program(path)
        else:
            raise ValueError(f"{path}: exported models end in {' or '.join(EXPORTED_SUFFIXES)}")
        missing = [key for key in META_KEYS if key not in metadata]
        if missing:
            raise ValueError(f"{path}: not exported by mmseg-beit (no {', '.join(missing)})")
        self.cfg = Config.fromstring(metadata[META_KEYS[0]], ".py")
        self.dataset_meta = json.loads(metadata[META_KEYS[1]])
        settings = json.loads(metadata[META_KEYS[2]])
        self.settings = WindowSettings(**{k: tuple(v) if isinstance(v, list) else v
                                          for k, v in settings.items()})  # fmt: skip
        self.inference_pipeline = inference_pipeline(self.cfg)

    def _open_onnx(self, path: Path, threads: int | None) -> dict:
        try:
            import onnxruntime
        except ImportError:
            raise ImportError(
                "onnxruntime is not installed: pip install 'mmseg-beit[deploy]'"
            ) from None
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(path), options, ["CPUExecutionProvider"])
        self.backend = "onnxruntime"
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def _open_program(self, path: Path) -> dict:
        extra = dict.fromkeys(META_KEYS, "")
        self.program = torch.export.load(str(path), extra_files=extra).module()
        self.backend = "torch-export"
        return {k: v for k, v in extra.items() if v}

    def window(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, h, w) RGB 0..255 -> (N, classes, h, w) logits."""
        if self.backend == "torch-export":
            with torch.no_grad():
                return self.program(image.float())
        array = np.ascontiguousarray(image.float().numpy())
        return torch.from_numpy(self.session.run(["logits"], {"image": array})[0])
