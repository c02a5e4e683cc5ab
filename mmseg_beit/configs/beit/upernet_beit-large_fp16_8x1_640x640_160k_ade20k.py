# BEiT-L/16 UPerNet, ADE20K 640x640, 8 GPUs x 1 image, fp16, 2-step gradient accumulation:
# 160k optimiser updates = 320k iterations, warmup 3000 updates, poly decay reaching 0 at the end.
# Published: 56.7 mIoU (unilm), 56.33 (mmseg retrain); single scale, sliding window.
_base_ = ["./upernet_beit-base_8x2_640x640_160k_ade20k.py"]
accumulation = 2
max_iters = 160000 * accumulation
warmup_iters = 3000 * accumulation
model = dict(
    backbone=dict(
        embed_dims=1024,
        num_layers=24,
        num_heads=16,
        out_indices=(7, 11, 15, 23),
        init_values=1e-6,
        drop_path_rate=0.2,
        init_cfg=dict(
            type="Pretrained", checkpoint="pretrain/beit_large_patch16_224_pt22k_ft22k.pth"
        ),
    ),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=1024),
    auxiliary_head=dict(in_channels=1024),
)
optim_wrapper = dict(
    type="mmseg_beit.AmpOptimWrapper",  # bf16 autocast on CPU where there is no GPU
    dtype="float16",
    loss_scale="dynamic",
    accumulative_counts=accumulation,
    optimizer=dict(lr=2e-5),
    paramwise_cfg=dict(num_layers=24, layer_decay_rate=0.95),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=warmup_iters),
    dict(type="PolyLR", power=1.0, eta_min=0.0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=32000)
default_hooks = dict(checkpoint=dict(interval=32000))
train_dataloader = dict(batch_size=1)
