"""Registries of scope ``mmseg_beit``, children of MMSegmentation's.

With ``default_scope = 'mmseg_beit'`` a config finds this package's modules first and every
mmseg or mmengine component (EncoderDecoder, datasets, IoUMetric, hooks, loops) by its usual name
through the parent. mmengine resolves a default scope in *every* registry tree it builds from
(runners, loops, metrics, visualisers...) and falls back, with a warning and without mmseg's
modules, where the scope has no child; so the scope gets a child in each of mmseg's trees. The
ones this package adds to are named below; ``locations`` lets mmengine import them on demand.
"""

from __future__ import annotations

from mmengine.registry import Registry
from mmseg import registry as mmseg_registry

SCOPE = "mmseg_beit"


def _child(parent: Registry, location: str | None = None) -> Registry:
    locations = [f"{SCOPE}.{location}"] if location else []
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=locations)


MODELS = _child(mmseg_registry.MODELS, "models")
DATASETS = _child(mmseg_registry.DATASETS, "datasets")
TRANSFORMS = _child(mmseg_registry.TRANSFORMS, "datasets")
METRICS = _child(mmseg_registry.METRICS, "evaluation")
HOOKS = _child(mmseg_registry.HOOKS, "engine")
OPTIM_WRAPPERS = _child(mmseg_registry.OPTIM_WRAPPERS, "engine")
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmseg_registry.OPTIM_WRAPPER_CONSTRUCTORS, "engine")
WEIGHT_INITIALIZERS = _child(mmseg_registry.WEIGHT_INITIALIZERS, "checkpoint.pretrained")

# The other trees only need the scope to exist; nothing is registered in them.
_SCOPE_ONLY = [
    _child(parent)
    for name, parent in vars(mmseg_registry).items()
    if isinstance(parent, Registry) and name not in globals()
]
