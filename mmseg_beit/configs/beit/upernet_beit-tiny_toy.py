# A tiny BEiT UPerNet trained from scratch on the generated toy scenes, on CPU in minutes.
# Used by the README's first command (tools/quickstart.py) and by the tests.
_base_ = [
    "../_base_/models/upernet_beit.py",
    "../_base_/datasets/toy_ade20k.py",
    "../_base_/default_runtime.py",
]
crop_size = (128, 128)
width = 64
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        img_size=crop_size,
        embed_dims=width,
        num_layers=4,
        num_heads=4,
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.0,
    ),
    neck=dict(embed_dim=width),
    decode_head=dict(in_channels=[width] * 4, channels=64, num_classes=5),
    auxiliary_head=dict(in_channels=width, channels=32, num_classes=5),
    test_cfg=dict(mode="slide", crop_size=crop_size, stride=(85, 85)),
)
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0),
)
max_iters = 600
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type="PolyLR", power=1.0, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
default_hooks = dict(checkpoint=dict(interval=200, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend="gloo"))
randomness = dict(seed=0)
