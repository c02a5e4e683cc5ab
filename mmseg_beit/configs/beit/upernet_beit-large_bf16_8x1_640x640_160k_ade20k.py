# BEiT-L UPerNet with bf16 autocast instead of fp16 (no loss scaling needed; Ampere and newer).
_base_ = ["./upernet_beit-large_fp16_8x1_640x640_160k_ade20k.py"]
optim_wrapper = dict(dtype="bfloat16", loss_scale=1.0)
