"""Training and test components: optimiser wrapper and constructor, hooks."""

from mmseg_beit.engine.hooks import CheckpointHook, PredictionWriterHook
from mmseg_beit.engine.optimizers import AmpOptimWrapper, LayerDecayOptimizerConstructor

__all__ = [
    "AmpOptimWrapper",
    "CheckpointHook",
    "LayerDecayOptimizerConstructor",
    "PredictionWriterHook",
]
