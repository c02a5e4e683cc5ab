"""Data transforms this package adds (registered in scope ``mmseg_beit``)."""

from __future__ import annotations

from collections.abc import Sequence

from mmcv.transforms import Resize

from mmseg_beit.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ResizeWithMinSize(Resize):
    """Keep-ratio resize to ``scale`` x ``ratio``, enlarged so the short side is >= ``min_size``.

    This is the multi-scale test resize of the BEiT recipe: each view is the single-scale
    resize (long side <= 2560, short side <= 640) times a ratio, and no view is smaller than the
    640 crop. Ratios whose result would be smaller than ``min_size`` therefore give the same view.
    Only the image is resized: a ground truth already loaded stays at the image's own size,
    where predictions are scored.

    Args:
        scale: (long, short) bound of the base keep-ratio resize, e.g. (2560, 640).
        ratio: Multiplier applied to the base resize.
        min_size: Lower bound of the short side after resizing (0 disables it).
        **kwargs: :class:`mmcv.transforms.Resize` options (interpolation, backend...).
    """

    def __init__(
        self, scale: Sequence[int], ratio: float = 1.0, min_size: int = 0, **kwargs
    ) -> None:
        super().__init__(scale=tuple(scale), keep_ratio=False, **kwargs)  # size chosen per image
        self.base_scale = (max(scale), min(scale))
        self.ratio = ratio
        self.min_size = min_size

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """The (width, height) an image of this size is resized to."""
        long_edge, short_edge = self.base_scale
        factor = min(long_edge / max(height, width), short_edge / min(height, width)) * self.ratio
        if min(height, width) * factor < self.min_size:
            factor = self.min_size / min(height, width)
        return int(width * factor + 0.5), int(height * factor + 0.5)

    def transform(self, results: dict) -> dict:
        height, width = results["img"].shape[:2]
        results["scale"] = self.target_size(height, width)
        self._resize_img(results)
        return results
