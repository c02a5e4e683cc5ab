# BEiT-L UPerNet evaluated multi-scale + flip. Published: 57.0 (unilm), 56.84 (mmseg).
_base_ = ["./upernet_beit-large_fp16_8x1_640x640_160k_ade20k.py"]
test_pipeline = {{_base_.tta_pipeline}}
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(backbone=dict(init_cfg=None))
multi_scale_test = True
