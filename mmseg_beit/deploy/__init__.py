"""Exporting a segmentor's window graph to ONNX or torch.export (see :mod:`.export`)."""

from mmseg_beit.deploy.export import export

__all__ = ["export"]
