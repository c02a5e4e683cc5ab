from mmseg_beit.engine.optimizers.layer_decay import LayerDecayOptimizerConstructor

__all__ = ["LayerDecayOptimizerConstructor"]
