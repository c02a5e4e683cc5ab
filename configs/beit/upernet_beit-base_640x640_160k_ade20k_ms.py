# BEiT-B UPerNet evaluated multi-scale + flip (ratios 0.5-1.75, short side >= 640, sliding
# window 640/426 on every view, softmax scores averaged). Published: 54.2 (unilm), 53.84 (mmseg).
#   tools/test.py configs/beit/upernet_beit-base_640x640_160k_ade20k_ms.py CHECKPOINT --eval mIoU
_base_ = ["./upernet_beit-base_8x2_640x640_160k_ade20k.py"]
test_pipeline = {{_base_.tta_pipeline}}
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(backbone=dict(init_cfg=None))
multi_scale_test = True  # tools/test.py wraps the model in tta_model (SegTTAModel)
