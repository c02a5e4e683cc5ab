# BEiT-L UPerNet evaluated multi-scale + flip. Published: 57.0 (unilm), 56.84 (mmseg).
_base_ = ["./upernet_beit-large_fp16_8x1_640x640_160k_ade20k.py"]
# The model is the segmentor inside SegTTAModel: every entry point (Runner, MMSegmentation's
# tools and MMSegInferencer, tools/test.py, tools/infer.py, the Python API) tests it on all 12
# views. Training trains the segmentor as the base config does.
model = dict(_delete_=True, type="mmseg_beit.SegTTAModel", module={{_base_.model}})
test_pipeline = {{_base_.tta_pipeline}}  # also what mmseg.apis.inference_model reads
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
