# BEiT-B UPerNet evaluated multi-scale + flip (ratios 0.5-1.75, short side >= 640, sliding
# window 640/426 on every view, softmax scores averaged). Published: 54.2 (unilm), 53.84 (mmseg).
#   tools/test.py configs/beit/upernet_beit-base_640x640_160k_ade20k_ms.py CHECKPOINT --eval mIoU
_base_ = ["./upernet_beit-base_8x2_640x640_160k_ade20k.py"]
# The model is the segmentor inside SegTTAModel: every entry point (Runner, MMSegmentation's
# tools and MMSegInferencer, tools/test.py, tools/infer.py, the Python API) tests it on all 12
# views. Training trains the segmentor as the base config does.
model = dict(_delete_=True, type="mmseg_beit.SegTTAModel", module={{_base_.model}})
test_pipeline = {{_base_.tta_pipeline}}  # also what mmseg.apis.inference_model reads
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
