"""Multi-scale + flip testing as a model that every entry point can run from a config."""

from __future__ import annotations

import torch
from mmengine.logging import print_log
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel as MMSegTTAModel
from mmseg.structures import SegDataSample

from mmseg_beit.registry import MODELS

_PREFIX = "module."


@MODELS.register_module()
class SegTTAModel(MMSegTTAModel):
    """Tests a segmentor on every view of ``TestTimeAug`` and averages their softmax scores.

    As a config's ``model`` (the ``*_ms`` configs) it works with mmengine's Runner, DDP,
    MMSegmentation's tools and ``MMSegInferencer``:

    * batches of views are merged; the merged sample's ``seg_logits`` are the log of the mean
      probabilities (a softmax gives those back) and its ``gt_sem_seg`` the unflipped view's;
    * single-view batches (validation while training) go straight to the segmentor, and
      training trains it, so an ``_ms`` config trains like its single-scale base;
    * its weights are the segmentor's: state dicts are saved and loaded without the
      ``module.`` prefix (prefixed ones load too), and the segmentor's parts are reachable
      from it (``model.decode_head``, as mmseg's ``init_model`` reads).

    Args:
        module: The segmentor (config or module); a TTA model given here is unwrapped.
        **kwargs: :class:`mmengine.model.BaseTTAModel` arguments.
    """

    def __init__(
        self, module: dict | torch.nn.Module, pretrained: str | None = None, **kwargs
    ) -> None:
        while isinstance(module, dict) and "TTAModel" in str(module.get("type", "")):
            module = module["module"]
        if isinstance(module, dict):  # what mmseg.apis.init_model sets on a config's model
            module = dict(module, pretrained=pretrained) if pretrained else module
            if "train_cfg" in kwargs:
                module = dict(module, train_cfg=kwargs.pop("train_cfg"))
        super().__init__(module=module, **kwargs)
        self.data_preprocessor = self.module.data_preprocessor  # for DDP's training step
        self.register_state_dict_post_hook(_drop_prefix)
        self.register_load_state_dict_pre_hook(_add_prefix)
        self._announced = False

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name.startswith("_") or name == "module":
                raise
            return getattr(self.module, name)  # the segmentor's parts: backbone, decode_head...

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def train_step(self, data, optim_wrapper) -> dict:
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data) -> list:
        return self.test_step(data)

    def test_step(self, data) -> list:
        inputs = data["inputs"] if isinstance(data, dict) else data[0]
        if isinstance(inputs[0], torch.Tensor):  # one view per image
            return self.module.test_step(data)
        data = _views_first(data)
        inputs = data["inputs"]
        if not self._announced:
            print_log(f"multi-scale + flip: {len(inputs)} views per image", "current")
            self._announced = True
        # View by view, summing probabilities: one view's full-size scores in memory at a time
        # (150 classes of a 640 x 853 image are 330 MB), not all twelve as mmseg keeps them.
        probs, kept = None, None
        for view in range(len(inputs)):
            samples = self.module.test_step({key: value[view] for key, value in data.items()})
            scores = [s.seg_logits.data.float().softmax(dim=0) for s in samples]
            probs = scores if probs is None else [p.add_(q) for p, q in zip(probs, scores)]
            if kept is None or (
                kept[0].metainfo.get("flip") and not samples[0].metainfo.get("flip")
            ):
                kept = [self._merged(s, None) for s in samples]  # metainfo and truth only
        for sample, p in zip(kept, probs):
            self._set_probs(sample, p / len(inputs))
        return kept

    @staticmethod
    def _merged(view: SegDataSample, probs: torch.Tensor | None) -> SegDataSample:
        """A sample with the view's metainfo and truth, and the given mean probabilities."""
        sample = SegDataSample(metainfo=view.metainfo)
        if "gt_sem_seg" in view:
            sample.gt_sem_seg = view.gt_sem_seg
        if probs is not None:
            SegTTAModel._set_probs(sample, probs)
        return sample

    @staticmethod
    def _set_probs(sample: SegDataSample, probs: torch.Tensor) -> None:
        sample.seg_logits = PixelData(data=probs.log())
        sample.pred_sem_seg = PixelData(data=probs.argmax(dim=0, keepdim=True))

    def merge_preds(self, data_samples_list: list[list[SegDataSample]]) -> list[SegDataSample]:
        """Mean softmax over each image's views (what :meth:`test_step` computes view by view)."""
        merged = []
        for views in data_samples_list:
            probs = torch.stack([v.seg_logits.data.float().softmax(dim=0) for v in views]).mean(0)
            truth = next((v for v in views if not v.metainfo.get("flip")), views[0])
            merged.append(self._merged(truth, probs))
        return merged


def _views_first(data: dict) -> dict:
    """Batches as ``[view][image]`` (mmengine's collate); ``mmseg.apis.inference_model``
    packs them ``[image][view]``, told apart by one list holding one image's views."""
    first = [s.metainfo for s in data["data_samples"][0]]
    flips = {m.get("flip") for m in first}
    sizes = {tuple(m.get("img_shape", ())) for m in first}
    one_image = len({(m.get("img_path"), tuple(m.get("ori_shape", ()))) for m in first}) == 1
    if len(flips) > 1 or (one_image and len(sizes) > 1):
        return {key: [list(v) for v in zip(*value)] for key, value in data.items()}
    return data


def _drop_prefix(module, state_dict, prefix, local_metadata) -> None:
    for key in [k for k in state_dict if k.startswith(prefix + _PREFIX)]:
        state_dict[prefix + key[len(prefix + _PREFIX) :]] = state_dict.pop(key)


def _add_prefix(module, state_dict, prefix, *args) -> None:
    for key in [k for k in state_dict if k.startswith(prefix)]:
        if not key.startswith(prefix + _PREFIX):
            state_dict[prefix + _PREFIX + key[len(prefix) :]] = state_dict.pop(key)
