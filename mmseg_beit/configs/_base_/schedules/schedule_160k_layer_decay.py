# AdamW with layer-wise lr decay, linear warmup then poly decay to 0 at the end of training.
# Schedules are in iterations; with gradient accumulation of k steps, iterations = k x updates.
max_iters = 160000
warmup_iters = 1500
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=3e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor="mmseg_beit.LayerDecayOptimizerConstructor",
    paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.9),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type="PolyLR", power=1.0, eta_min=0.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=16000)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
