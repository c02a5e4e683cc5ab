# BEiT-B UPerNet with bf16 autocast (Ampere and newer GPUs); otherwise as the fp32 base config.
_base_ = ["./upernet_beit-base_8x2_640x640_160k_ade20k.py"]
optim_wrapper = dict(type="mmseg_beit.AmpOptimWrapper", dtype="bfloat16")
