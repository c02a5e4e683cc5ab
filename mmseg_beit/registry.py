"""Child registries of scope ``mmseg_beit``.

Each one is a child of MMSegmentation's registry of the same kind, so with
``default_scope = 'mmseg_beit'`` a config finds this package's modules first and every mmseg or
mmengine component (EncoderDecoder, datasets, transforms, IoUMetric, hooks, runners) by its usual
name through the parent.
"""

from mmengine.registry import Registry
from mmseg import registry as mmseg_registry

SCOPE = "mmseg_beit"


def _child(parent: Registry, location: str | None = None) -> Registry:
    locations = [f"{SCOPE}.{location}"] if location else []
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=locations)


MODELS = _child(mmseg_registry.MODELS, "models")
DATASETS = _child(mmseg_registry.DATASETS, "datasets")
TRANSFORMS = _child(mmseg_registry.TRANSFORMS, "datasets")
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmseg_registry.OPTIM_WRAPPER_CONSTRUCTORS, "engine")
HOOKS = _child(mmseg_registry.HOOKS, "engine")
# Registries this package adds nothing to; children so that the scope resolves for every kind.
RUNNERS = _child(mmseg_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(mmseg_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(mmseg_registry.LOOPS)
DATA_SAMPLERS = _child(mmseg_registry.DATA_SAMPLERS)
MODEL_WRAPPERS = _child(mmseg_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(mmseg_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(mmseg_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(mmseg_registry.OPTIM_WRAPPERS)
PARAM_SCHEDULERS = _child(mmseg_registry.PARAM_SCHEDULERS)
METRICS = _child(mmseg_registry.METRICS)
EVALUATOR = _child(mmseg_registry.EVALUATOR)
TASK_UTILS = _child(mmseg_registry.TASK_UTILS)
VISUALIZERS = _child(mmseg_registry.VISUALIZERS)
VISBACKENDS = _child(mmseg_registry.VISBACKENDS)
LOG_PROCESSORS = _child(mmseg_registry.LOG_PROCESSORS)
INFERENCERS = _child(mmseg_registry.INFERENCERS)
