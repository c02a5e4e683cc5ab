# ViT-L/16 (ImageNet-21k, google/vit-large-patch16-224-in21k) UPerNet, ADE20K 640x640: the BEiT-L
# recipe with the backbone in ViT mode (absolute position embeddings, resampled 224 -> 640 on
# load, bias on q, k and v, no layer scale, no relative bias, LayerNorm eps of the HF source).
# Weights: tools/model_converters/hf2mmseg.py <hf folder> pretrain/vit-large-p16-in21k.pth
# No published number for this exact recipe; not yet trained here.
_base_ = ["../beit/upernet_beit-large_fp16_8x1_640x640_160k_ade20k.py"]
model = dict(
    backbone=dict(
        rel_pos_bias=False,
        abs_pos_embed=True,
        qv_bias=False,
        qkv_bias=True,
        init_values=None,
        norm_cfg=dict(type="LN", eps=1e-12),
        init_cfg=dict(type="Pretrained", checkpoint="pretrain/vit-large-p16-in21k.pth"),
    ),
)
