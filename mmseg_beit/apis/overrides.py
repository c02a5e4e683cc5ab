"""Checks of ``--cfg-options`` before anything is built: every key must be one that takes effect.

Refused, each with the key that would work:

* unknown keys at every level whose structure is known: the top level, the arguments of a
  registered class (its ``__init__`` signature, following ``**kwargs`` up the class hierarchy),
  and the plain dicts whose readers are known (``env_cfg``, the segmentor's ``test_cfg``);
* top-level variables whose value the config has already copied into other places
  (``max_iters`` after ``train_cfg.max_iters=max_iters``): changing them changes nothing.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterator

from mmengine.config import Config
from mmengine.runner import Runner

# Top-level keys something reads: the Runner's arguments, plus those read by this package,
# MMSegmentation's tools (tta_*) and the config loader itself.
LIVE_KEYS = frozenset(inspect.signature(Runner.__init__).parameters) - {"self", "cfg"} | {
    "model_wrapper_cfg",
    "custom_imports",
    "tta_model",
    "tta_pipeline",
}
# Plain dicts whose readers are known. env_cfg: mmengine's Runner.setup_env; the segmentor's
# test_cfg: models/segmentors/encoder_decoder.py, mmseg's EncoderDecoder and the speed preset.
ENV_CFG_KEYS = frozenset({"cudnn_benchmark", "mp_cfg", "dist_cfg", "resource_limit"})
SEGMENTOR_TEST_CFG_KEYS = frozenset({"mode", "crop_size", "stride", "crop_batch", "precision"})
# Dicts built by helper functions with conventions of their own (norm_cfg's requires_grad).
_BUILDER_DICTS = frozenset({"norm_cfg", "act_cfg", "conv_cfg", "init_cfg"})


def nearest(name: str, valid) -> str:
    """' (did you mean X?)' for the closest valid name, or ''."""
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_overrides(cfg: Config, options: dict) -> None:
    """Refuses overrides that name unknown keys or variables that no longer take effect.

    Raises:
        ValueError: Naming the override and the key that would work.
    """
    for key in options:
        check_override_key(cfg, key)


def check_override_key(cfg: Config, key: str) -> None:
    """Checks one dotted override key (list items by index: ``param_scheduler.1.end``)."""
    top, *rest = key.split(".")
    if top not in cfg:
        live = [k for k in cfg if k in LIVE_KEYS or not copies_of(cfg, k)]
        hint = nearest(top, live) or _dead_hint(cfg, top)
        raise ValueError(f"--cfg-options {key}: the config has no key {top!r}{hint}")
    if not rest and top not in LIVE_KEYS and copies_of(cfg, top):
        raise ValueError(f"--cfg-options {key}: {_dead_message(cfg, top)}")
    node, path = cfg[top], [top]
    for part in rest:
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return  # mmengine's merge reports bad indices
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                known, owner = known_keys(path, node)
                if known is not None and part not in known:
                    raise ValueError(
                        f"--cfg-options {key}: {owner} takes no {part!r}{nearest(part, known)}"
                    )
                return  # a valid key not set yet: nothing is known beneath it
            node = node[part]
        else:
            return
        path.append(part)


def known_keys(path: list[str], node: dict) -> tuple[frozenset[str] | None, str]:
    """The keys a dict of the config may hold, and who reads it; (None, '') when unknown."""
    names = [p for p in path if not p.isdigit()]
    if "type" in node and names[-1] not in _BUILDER_DICTS:
        cls = _registered_class(names, node["type"])
        params = _init_parameters(cls) if cls is not None else None
        if params is None:
            return None, ""
        return params | {"type", "_scope_"} | _builder_keys(
            names
        ), f"{cls.__name__} ({node_name(path)})"
    if names == ["env_cfg"]:
        return ENV_CFG_KEYS, "env_cfg"
    if names[0] in ("model", "tta_model") and names[-1] == "test_cfg":
        return SEGMENTOR_TEST_CFG_KEYS, f"the segmentor's test_cfg ({node_name(path)})"
    return None, ""


def node_name(path: list[str]) -> str:
    """``param_scheduler[1]``-style name of a config node."""
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path).lstrip(".")


def _builder_keys(names: list[str]) -> frozenset[str]:
    # mmengine's optimiser-wrapper builder takes these out before building the wrapper
    return (
        frozenset({"constructor", "paramwise_cfg"}) if names == ["optim_wrapper"] else frozenset()
    )


def _registry_for(names: list[str]):
    from mmengine import registry as r

    from mmseg_beit import registry as ours

    if any(n.endswith("pipeline") or n == "transforms" for n in names):
        return ours.TRANSFORMS
    by_name = {"dataset": ours.DATASETS, "sampler": r.DATA_SAMPLERS, "optimizer": r.OPTIMIZERS}
    by_name["vis_backends"] = r.VISBACKENDS
    if names[-1] in by_name:
        return by_name[names[-1]]
    return {
        "model": ours.MODELS,
        "tta_model": ours.MODELS,
        "data_preprocessor": ours.MODELS,
        "train_cfg": r.LOOPS,
        "val_cfg": r.LOOPS,
        "test_cfg": r.LOOPS,
        "param_scheduler": r.PARAM_SCHEDULERS,
        "val_evaluator": ours.METRICS,
        "test_evaluator": ours.METRICS,
        "visualizer": r.VISUALIZERS,
        "log_processor": r.LOG_PROCESSORS,
        "optim_wrapper": r.OPTIM_WRAPPERS,
        "default_hooks": r.HOOKS,
        "custom_hooks": r.HOOKS,
    }.get(names[0])


def _registered_class(names: list[str], type_name):
    if inspect.isclass(type_name):
        return type_name
    registry = _registry_for(names)
    if registry is None or not isinstance(type_name, str):
        return None
    try:
        with registry.switch_scope_and_registry(None) as scoped:
            return scoped.get(type_name)
    except (KeyError, ImportError):
        return None


def _init_parameters(cls) -> frozenset[str] | None:
    """Argument names of ``cls``, following ``**kwargs`` to the parents; None if open-ended."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            return None
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return frozenset(names - {"self"})
    return None


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _leaves(node, path: list[str]) -> Iterator[tuple[list[str], object]]:
    yield path, node
    if isinstance(node, (dict, list, tuple)):
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            yield from _leaves(value, [*path, str(key)])


def copies_of(cfg: Config, key: str) -> list[str]:
    """Where the config's live keys hold the value of the top-level variable ``key``."""
    target = _plain(cfg[key])
    if target is None or isinstance(target, bool) or target in ([], {}, ""):
        return []
    found = []
    for top in cfg:
        if top in LIVE_KEYS:
            found += [node_name(p) for p, v in _leaves(cfg[top], [top]) if _plain(v) == target]
    return found


def _dead_message(cfg: Config, key: str) -> str:
    places = copies_of(cfg, key)
    shown = ", ".join(places[:6]) + (f" and {len(places) - 6} more" if len(places) > 6 else "")
    iters = (
        " (or, for the length of training, mmseg-beit train --iters N)"
        if any(p.endswith("max_iters") for p in places)
        else ""
    )
    return (
        f"{key!r} is a variable whose value the config already copied into {shown}; "
        f"changing it changes nothing: set those keys instead{iters}"
    )


def _dead_hint(cfg: Config, name: str) -> str:
    dead = [k for k in cfg if k not in LIVE_KEYS and copies_of(cfg, k)]
    close = difflib.get_close_matches(name, dead, n=1, cutoff=0.5)
    return f"; {_dead_message(cfg, close[0])}" if close else ""
