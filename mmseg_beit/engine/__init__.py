"""Training-side components: the layer-decay optimiser constructor."""

from mmseg_beit.engine.optimizers import LayerDecayOptimizerConstructor

__all__ = ["LayerDecayOptimizerConstructor"]
