"""Finding, loading and checking configs: shipped ones by name, files, or a checkpoint's own."""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

from mmengine.config import Config
from mmengine.hooks import CheckpointHook

from mmseg_beit.apis.overrides import check_overrides, nearest
from mmseg_beit.checkpoint import CheckpointError, load_file
from mmseg_beit.utils.configs import find_config

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


def config_of_checkpoint(path: str | os.PathLike) -> Config:
    """The resolved config a training run stored in its checkpoint (``meta['cfg']``).

    Raises:
        CheckpointError: If the checkpoint carries no config.
    """
    raw = load_file(path)
    text = raw.get("meta", {}).get("cfg") if isinstance(raw.get("meta"), dict) else None
    if not isinstance(text, str):
        raise CheckpointError(
            f"{path}: carries no config (only checkpoints written by training do); pass --config"
        )
    return Config.fromstring(text, ".py")


def load_config(source: str | os.PathLike | Config, cfg_options: dict | None = None) -> Config:
    """A config from a file, a shipped config name, a checkpoint or a Config, with overrides.

    Raises:
        FileNotFoundError: No such config.
        ValueError: A config file (or one of its ``_base_``) with a syntax error, naming the
            file and line; an override that names an unknown key or a variable that no longer
            takes effect (:mod:`mmseg_beit.apis.overrides`), or a hook an argument it does not
            take (with the nearest valid name).
    """
    if isinstance(source, Config):
        cfg = source
    elif Path(source).suffix in CHECKPOINT_SUFFIXES and Path(source).is_file():
        cfg = config_of_checkpoint(source)
    else:
        path = find_config(source)
        try:
            cfg = Config.fromfile(str(path))
        except SyntaxError as error:  # mmengine parses without a file name: "<unknown>"
            raise ValueError(syntax_error_message(path, error)) from None
    if cfg_options:
        check_overrides(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_hook_arguments(cfg)
    return cfg


def syntax_error_message(path: Path, error: SyntaxError) -> str:
    """'FILE, line N: MESSAGE: TEXT' for the config file or ``_base_`` that does not parse."""
    for file in _config_files(Path(path)):
        try:
            ast.parse(file.read_text(), filename=str(file))
        except SyntaxError as found:
            text = (found.text or "").strip()
            return f"{file}, line {found.lineno}: {found.msg}" + (f": {text}" if text else "")
    return f"{path}: {error.msg} (line {error.lineno} of it or of one of its _base_ files)"


def _config_files(path: Path) -> list[Path]:
    """A config file and, if it parses, its local ``_base_`` files (recursively)."""
    files = [path]
    try:
        tree = ast.parse(path.read_text())
    except (SyntaxError, OSError):
        return files
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets
        ):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                continue
            for base in [bases] if isinstance(bases, str) else bases:
                if "::" not in base and (path.parent / base).is_file():
                    files += _config_files(path.parent / base)
    return files


def check_hook_arguments(cfg: Config) -> None:
    """Every hook of ``default_hooks`` and ``custom_hooks`` takes the arguments it is given."""
    from mmengine.registry import HOOKS, init_default_scope

    init_default_scope(cfg.get("default_scope", "mmseg_beit"))
    hooks = [(f"default_hooks.{k}", v) for k, v in (cfg.get("default_hooks") or {}).items()]
    hooks += [(f"custom_hooks[{i}]", v) for i, v in enumerate(cfg.get("custom_hooks") or [])]
    for where, hook in hooks:
        if not isinstance(hook, dict) or "type" not in hook:
            continue
        hook_type = hook["type"]
        cls = hook_type if inspect.isclass(hook_type) else _registered(HOOKS, hook_type)
        if cls is None:
            continue
        params = inspect.signature(cls.__init__).parameters
        # CheckpointHook forwards **kwargs to Runner.save_checkpoint, whose arguments it
        # already sets: any other name fails at the first save, hours in.
        open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if open_ended and not issubclass(cls, CheckpointHook):
            continue
        valid = [n for n in params if n != "self"]
        for arg in hook:
            if arg not in ("type", "priority", "_scope_") and arg not in params:
                raise ValueError(
                    f"{where}.{arg}: {cls.__name__} takes no argument {arg!r}{nearest(arg, valid)}"
                )


def _registered(registry, name: str):
    with registry.switch_scope_and_registry(None) as scoped:
        return scoped.get(name)


def is_tta_model(model_cfg: dict) -> bool:
    """Whether a model config is a test-time-augmentation wrapper (the ``*_ms`` configs)."""
    return "TTAModel" in str(model_cfg.get("type", ""))


def enable_tta(cfg: Config) -> Config:
    """Multi-scale + flip testing: the segmentor inside ``tta_model``, the ``tta_pipeline`` as the
    test pipeline (as MMSegmentation's ``--tta``); configs that already test so are unchanged.

    Raises:
        ValueError: If the config has no ``tta_pipeline``.
    """
    if is_tta_model(cfg.model):
        return cfg
    if "tta_pipeline" not in cfg:
        raise ValueError(f"{cfg.filename}: no tta_pipeline for multi-scale + flip testing")
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    tta = dict(cfg.get("tta_model") or dict(type="mmseg_beit.SegTTAModel"))
    cfg.model = dict(tta, module=cfg.model)
    return cfg
