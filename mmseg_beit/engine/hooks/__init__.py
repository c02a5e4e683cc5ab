from mmseg_beit.engine.hooks.prediction_writer import PredictionWriterHook

__all__ = ["PredictionWriterHook"]
