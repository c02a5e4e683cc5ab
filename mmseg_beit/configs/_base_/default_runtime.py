default_scope = "mmseg_beit"
custom_imports = dict(imports=["mmseg_beit"], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    dist_cfg=dict(backend="nccl"),
)
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="SegLocalVisualizer", vis_backends=vis_backends, name="visualizer")
log_processor = dict(by_epoch=False)
log_level = "INFO"
load_from = None
resume = False
tta_model = dict(type="mmseg_beit.SegTTAModel")
# Checkpoint interval suits the 160k-iteration schedules; configs override what differs.
# The last four keep long runs safe (README, "What survives what"); slurm's pre-emption warning
# (--signal=USR1@90): default_hooks.stop_on_signal.signals="[SIGTERM,SIGINT,SIGUSR1]".
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(
        type="mmseg_beit.CheckpointHook", by_epoch=False, interval=16000, max_keep_ckpts=3
    ),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    visualization=dict(type="SegVisualizationHook"),
    work_dir_lock=dict(type="mmseg_beit.WorkDirLockHook"),
    finite_loss=dict(type="mmseg_beit.FiniteLossHook", max_skipped_steps=100),
    random_state=dict(type="mmseg_beit.RandomStateHook"),
    stop_on_signal=dict(type="mmseg_beit.SignalCheckpointHook", signals=["SIGTERM", "SIGINT"]),
)
