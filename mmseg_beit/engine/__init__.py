"""Training and test components: the layer-decay optimiser constructor, hooks."""

from mmseg_beit.engine.hooks import PredictionWriterHook
from mmseg_beit.engine.optimizers import LayerDecayOptimizerConstructor

__all__ = ["LayerDecayOptimizerConstructor", "PredictionWriterHook"]
