from mmseg_beit.engine.optimizers.amp import AmpOptimWrapper
from mmseg_beit.engine.optimizers.layer_decay import LayerDecayOptimizerConstructor

__all__ = ["AmpOptimWrapper", "LayerDecayOptimizerConstructor"]
