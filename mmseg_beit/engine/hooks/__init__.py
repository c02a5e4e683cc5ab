from mmseg_beit.engine.hooks.checkpoint import CheckpointHook, newest_loadable_checkpoint
from mmseg_beit.engine.hooks.prediction_writer import PredictionWriterHook

__all__ = ["CheckpointHook", "PredictionWriterHook", "newest_loadable_checkpoint"]
