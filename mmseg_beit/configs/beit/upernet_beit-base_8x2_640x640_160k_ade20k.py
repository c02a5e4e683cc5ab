# BEiT-B/16 UPerNet, ADE20K 640x640, 8 GPUs x 2 images, 160k iterations.
# Published: 53.6 mIoU (unilm), 53.08 (mmseg retrain); single scale, sliding window.
# Pretrained weights: the official beit_base_patch16_224_pt22k_ft22k.pth, as released or converted
# with tools/model_converters/beit2mmseg.py; the 224 relative tables are resized to 640 on load.
_base_ = [
    "../_base_/models/upernet_beit.py",
    "../_base_/datasets/ade20k_640x640.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k_layer_decay.py",
]
model = dict(
    backbone=dict(
        init_cfg=dict(
            type="Pretrained", checkpoint="pretrain/beit_base_patch16_224_pt22k_ft22k.pth"
        )
    ),
)
train_dataloader = dict(batch_size=2)
