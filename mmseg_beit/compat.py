"""Makes mmsegmentation 1.2.2 usable on today's stack; applied once by ``import mmseg_beit``.

Two behaviours, both idempotent and both no-ops where they are not needed:

* ``mmcv-lite`` ships ``mmcv/ops`` but not the compiled ``mmcv._ext`` it loads, and four mmseg
  modules import ``mmcv.ops`` unconditionally, so ``import mmseg.models`` fails. When the compiled
  ops are missing we register a light ``mmcv.ops`` module instead: ``point_sample`` (the only op
  mmseg calls on the paths this package uses) is implemented in PyTorch; every other name is a
  placeholder that raises :class:`MissingMMCVOpError`, naming the op, when it is called. With a
  real compiled mmcv nothing is replaced.
* mmengine resolves ``mmseg::`` base configs through ``pkg_resources``, gone from setuptools
  >= 81: where it is missing, the two functions involved are replaced by ``importlib.metadata``
  equivalents.
* torch >= 2.6 loads checkpoints with ``weights_only=True`` and mmengine 0.10 calls ``torch.load``
  without the argument, so its own runner checkpoints (message hub, history buffers, numpy
  scalars) fail to load. We allow-list exactly the types such files hold; everything else still
  goes through torch's restricted unpickler, so a pickle that would run code is refused.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
import types
import warnings

import torch
import torch.nn.functional as F

__all__ = [
    "MissingMMCVOpError",
    "apply",
    "fallback_ops_module",
    "get_installed_path",
    "has_compiled_mmcv_ops",
    "install_mmcv_ops_fallback",
    "is_installed",
    "patch_mmengine_package_utils",
    "point_sample",
    "register_checkpoint_safe_globals",
]

_FALLBACK_MARK = "__mmseg_beit_fallback__"


class MissingMMCVOpError(RuntimeError):
    """Raised when code uses an ``mmcv.ops`` operator that needs compiled mmcv."""


def point_sample(
    input: torch.Tensor, points: torch.Tensor, align_corners: bool = False, **kwargs
) -> torch.Tensor:
    """Samples ``input`` at normalised ``points`` in [0, 1], like ``mmcv.ops.point_sample``.

    Args:
        input: Feature map of shape (N, C, H, W).
        points: (N, P, 2) or (N, Hp, Wp, 2) xy coordinates in [0, 1].
        align_corners: Passed to :func:`torch.nn.functional.grid_sample`.
        **kwargs: Further ``grid_sample`` arguments (``mode``, ``padding_mode``).

    Returns:
        (N, C, P) or (N, C, Hp, Wp) sampled features.
    """
    squeeze = points.dim() == 3
    grid = points.unsqueeze(2) if squeeze else points
    out = F.grid_sample(input, grid * 2.0 - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if squeeze else out


def _missing_op(name: str) -> type:
    """A class standing in for a compiled op: importable, ``isinstance``-safe, fails on use."""

    def refuse(cls, *args, **kwargs):
        raise MissingMMCVOpError(
            f"mmcv.ops.{name} needs mmcv's compiled operators (mmcv._ext), which the installed "
            "mmcv (mmcv-lite) does not have. Install a full mmcv build to use it."
        )

    return type(name, (), {"__new__": refuse, "__module__": "mmcv.ops", _FALLBACK_MARK: True})


def has_compiled_mmcv_ops() -> bool:
    """Whether the installed mmcv carries its compiled extension."""
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except ModuleNotFoundError:  # no mmcv at all
        return False


def fallback_ops_module() -> types.ModuleType:
    """The pure-PyTorch ``mmcv.ops`` stand-in (not registered anywhere)."""
    module = types.ModuleType("mmcv.ops", "mmseg_beit stand-in for mmcv.ops (no compiled ops).")
    module.point_sample = point_sample
    setattr(module, _FALLBACK_MARK, True)

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        placeholder = _missing_op(name)
        setattr(module, name, placeholder)
        return placeholder

    module.__getattr__ = __getattr__
    # mmcv.cnn warns on import that this op is unavailable; expected here, so not repeated.
    warnings.filterwarnings("ignore", message=r"Fail to import ``MultiScaleDeformableAttention``")
    return module


def install_mmcv_ops_fallback() -> bool:
    """Registers the pure-PyTorch ``mmcv.ops`` stand-in when compiled ops are missing.

    (Installed packages also do this at interpreter start, through ``mmseg_beit_startup.pth``,
    so that ``import mmseg.apis`` works before ``import mmseg_beit``.)

    Returns:
        True when the stand-in is (now) in place, False when the real ``mmcv.ops`` is used.
    """
    current = sys.modules.get("mmcv.ops")
    if current is not None:
        return getattr(current, _FALLBACK_MARK, False)
    if has_compiled_mmcv_ops():
        return False
    import mmcv

    module = fallback_ops_module()
    sys.modules["mmcv.ops"] = module
    mmcv.ops = module
    return True


def _history_buffer_method(owner: object, name: str):
    """Stands in for ``builtins.getattr`` in checkpoints: resolves HistoryBuffer statistics only.

    mmengine pickles ``HistoryBuffer._statistics_methods`` (``min``, ``max``, ``mean``,
    ``current`` and registered ones) as ``getattr(HistoryBuffer, name)``. A general ``getattr``
    would let a pickle walk to ``__globals__`` and run code, so anything else is refused.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if owner is HistoryBuffer and not name.startswith("_") and callable(getattr(owner, name, None)):
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f"refused getattr({getattr(owner, '__name__', type(owner).__name__)}, {name!r}) in a "
        "checkpoint: only mmengine HistoryBuffer statistics methods may be looked up"
    )


def _checkpoint_safe_globals() -> list:
    """The non-tensor types found in mmengine runner checkpoints (meta, message hub)."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    numpy_scalar_types = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8]
    numpy_scalar_types += [np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64]
    allowed = [
        HistoryBuffer,
        (_history_buffer_method, "builtins.getattr"),
        np.ndarray,
        np.dtype,
        np._core.multiarray._reconstruct,
        np._core.multiarray.scalar,
    ]
    allowed += numpy_scalar_types
    allowed += [type(np.dtype(t)) for t in numpy_scalar_types]
    # Files written under numpy 1 name the same functions numpy.core.multiarray.*.
    allowed += [
        (np._core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
        (np._core.multiarray.scalar, "numpy.core.multiarray.scalar"),
    ]
    return allowed


def register_checkpoint_safe_globals() -> None:
    """Allow-lists mmengine's checkpoint types for ``torch.load(weights_only=True)``."""
    add = getattr(torch.serialization, "add_safe_globals", None)
    if add is not None:  # torch < 2.4 has no allow-list (nor a restricted default to extend)
        add(_checkpoint_safe_globals())


def _distribution(package: str):
    from importlib import metadata

    try:
        return metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None


def _spec_dir(package: str) -> str | None:
    spec = importlib.util.find_spec(package)
    return None if spec is None or spec.origin is None else os.path.dirname(spec.origin)


def is_installed(package: str) -> bool:
    """mmengine's ``is_installed`` without ``pkg_resources``."""
    return _distribution(package) is not None or _spec_dir(package) is not None


def get_installed_path(package: str) -> str:
    """mmengine's ``get_installed_path`` without ``pkg_resources`` (``mmsegmentation`` ->
    ``.../site-packages/mmseg``)."""
    dist = _distribution(package)
    if dist is None:
        found = _spec_dir(package)
        if found is None:
            raise ModuleNotFoundError(f"{package} is not installed")
        return found
    location = str(dist.locate_file(""))
    if os.path.exists(os.path.join(location, package)):
        return os.path.join(location, package)
    top = (dist.read_text("top_level.txt") or "").split()
    module = top[0] if top else package.replace("-", "_")
    return _spec_dir(module) or os.path.join(location, module)


def patch_mmengine_package_utils(module: types.ModuleType | None = None) -> bool:
    """Makes mmengine's ``mmseg::`` config inheritance work where ``pkg_resources`` is gone.

    mmengine 0.10 resolves ``_base_ = ['mmseg::...']`` through ``pkg_resources``, which
    setuptools >= 81 no longer ships. Patched only then; a no-op otherwise.

    Returns:
        Whether it patched.
    """
    if importlib.util.find_spec("pkg_resources") is not None:
        return False
    modules = [module] if module is not None else []
    for name in ("mmengine.utils.package_utils", "mmengine.utils", "mmengine.config.config"):
        if name in sys.modules:
            modules.append(sys.modules[name])
    for target in modules:
        for function in (is_installed, get_installed_path):
            if hasattr(target, function.__name__):
                setattr(target, function.__name__, function)
    return True


def apply() -> None:
    """Applies every compatibility behaviour; must run before mmseg is imported."""
    install_mmcv_ops_fallback()
    register_checkpoint_safe_globals()
    patch_mmengine_package_utils()
