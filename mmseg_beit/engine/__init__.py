"""Training and test components: optimiser wrapper and constructor, hooks."""

from mmseg_beit.engine.errors import TrainingError
from mmseg_beit.engine.hooks import (
    CheckpointHook,
    FiniteLossHook,
    PredictionWriterHook,
    RandomStateHook,
    SignalCheckpointHook,
    WorkDirLockHook,
)
from mmseg_beit.engine.optimizers import AmpOptimWrapper, LayerDecayOptimizerConstructor

__all__ = [
    "AmpOptimWrapper",
    "CheckpointHook",
    "FiniteLossHook",
    "LayerDecayOptimizerConstructor",
    "PredictionWriterHook",
    "RandomStateHook",
    "SignalCheckpointHook",
    "TrainingError",
    "WorkDirLockHook",
]
