# BEiT-B/16 + Feature2Pyramid + UPerNet, FCN auxiliary head (unilm / mmseg recipe).
# This package's modules are named with their scope, so every entry point builds them whatever
# its default scope (MMSegInferencer's is 'mmseg').
norm_cfg = dict(type="SyncBN", requires_grad=True)  # also synchronised between CPU processes
data_preprocessor = dict(
    type="SegDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(640, 640),  # training batches are padded to the crop
    # Test images are padded to a multiple of the patch size and the padding is cropped from
    # the logits, so predictions stay pixel-aligned at any image size.
    test_cfg=dict(size_divisor=16),
)
model = dict(
    type="mmseg_beit.EncoderDecoder",
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type="mmseg_beit.BEiT",
        img_size=(640, 640),
        patch_size=16,
        in_channels=3,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        mlp_ratio=4,
        out_indices=(3, 5, 7, 11),
        qv_bias=True,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        norm_cfg=dict(type="LN", eps=1e-6),
        act_cfg=dict(type="GELU"),
        init_values=0.1,
    ),
    neck=dict(
        type="mmseg_beit.Feature2Pyramid", embed_dim=768, rescales=[4, 2, 1, 0.5], norm_cfg=norm_cfg
    ),
    decode_head=dict(
        type="mmseg_beit.UPerHead",
        in_channels=[768, 768, 768, 768],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=768,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=dict(
        type="mmseg_beit.FCNHead",
        in_channels=768,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="slide", crop_size=(640, 640), stride=(426, 426)),
    speed="auto",  # the measured speed preset (mmseg_beit/models/speed.py)
)
