"""Models registered in scope ``mmseg_beit``: BEiT, Feature2Pyramid, UPerHead, FCNHead,
EncoderDecoder, SegTTAModel, WinogradConv2d and a SyncBN that also synchronises CPU processes."""

from mmseg_beit.models.backbones.beit import BEiT
from mmseg_beit.models.decode_heads.fcn_head import FCNHead
from mmseg_beit.models.decode_heads.uper_head import UPerHead
from mmseg_beit.models.layers.sync_batchnorm import SyncBatchNorm
from mmseg_beit.models.layers.winograd import WinogradConv2d
from mmseg_beit.models.necks.feature2pyramid import Feature2Pyramid
from mmseg_beit.models.segmentors.encoder_decoder import EncoderDecoder
from mmseg_beit.models.segmentors.seg_tta import SegTTAModel
from mmseg_beit.models.speed import SpeedPreset, speed_preset
from mmseg_beit.models.utils.inference_cache import InferenceCache, clear_caches

__all__ = [
    "BEiT",
    "EncoderDecoder",
    "FCNHead",
    "Feature2Pyramid",
    "InferenceCache",
    "SegTTAModel",
    "SpeedPreset",
    "SyncBatchNorm",
    "UPerHead",
    "WinogradConv2d",
    "clear_caches",
    "speed_preset",
]
