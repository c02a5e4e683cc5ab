"""Models registered in scope ``mmseg_beit``: BEiT, Feature2Pyramid, UPerHead, FCNHead."""

from mmseg_beit.models.backbones.beit import BEiT
from mmseg_beit.models.decode_heads.fcn_head import FCNHead
from mmseg_beit.models.decode_heads.uper_head import UPerHead
from mmseg_beit.models.necks.feature2pyramid import Feature2Pyramid

__all__ = ["BEiT", "FCNHead", "Feature2Pyramid", "UPerHead"]
