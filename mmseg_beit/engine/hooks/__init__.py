from mmseg_beit.engine.hooks.checkpoint import CheckpointHook, newest_loadable_checkpoint
from mmseg_beit.engine.hooks.finite_loss import FiniteLossHook
from mmseg_beit.engine.hooks.prediction_writer import PredictionWriterHook
from mmseg_beit.engine.hooks.random_state import RandomStateHook
from mmseg_beit.engine.hooks.stop_signal import SignalCheckpointHook
from mmseg_beit.engine.hooks.work_dir_lock import WorkDirLockHook, lock_work_dir

__all__ = [
    "CheckpointHook",
    "FiniteLossHook",
    "PredictionWriterHook",
    "RandomStateHook",
    "SignalCheckpointHook",
    "WorkDirLockHook",
    "lock_work_dir",
    "newest_loadable_checkpoint",
]
