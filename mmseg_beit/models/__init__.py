"""Models registered in scope ``mmseg_beit``: BEiT, Feature2Pyramid, UPerHead, FCNHead,
EncoderDecoder (batched sliding window) and WinogradConv2d."""

from mmseg_beit.models.backbones.beit import BEiT
from mmseg_beit.models.decode_heads.fcn_head import FCNHead
from mmseg_beit.models.decode_heads.uper_head import UPerHead
from mmseg_beit.models.layers.winograd import WinogradConv2d
from mmseg_beit.models.necks.feature2pyramid import Feature2Pyramid
from mmseg_beit.models.segmentors.encoder_decoder import EncoderDecoder

__all__ = ["BEiT", "EncoderDecoder", "FCNHead", "Feature2Pyramid", "UPerHead", "WinogradConv2d"]
