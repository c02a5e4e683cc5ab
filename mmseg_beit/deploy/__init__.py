"""Exporting a segmentor: its window graph to ONNX or torch.export (:mod:`.export`), or the
whole model to a transformers folder (:mod:`.huggingface`)."""

from mmseg_beit.deploy.export import export
from mmseg_beit.deploy.huggingface import export_huggingface

__all__ = ["export", "export_huggingface"]
