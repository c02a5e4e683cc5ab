"""Applies mmseg_beit's stack fixes whatever is imported first.

Run at interpreter start by ``mmseg_beit_startup.pth`` (installed beside the package): it only
adds an import finder, which acts on two imports and stays out of the way otherwise.

* ``mmcv.ops`` (MMSegmentation's modules import it) on mmcv-lite: the finder supplies
  :func:`mmseg_beit.compat.fallback_ops_module`. Without it, ``import mmseg.apis`` before
  ``import mmseg_beit`` fails with "No module named 'mmcv._ext'".
* ``mmengine.utils.package_utils`` where ``pkg_resources`` is gone: patched after loading by
  :func:`mmseg_beit.compat.patch_mmengine_package_utils`, so ``mmseg::`` base configs load
  before anything has imported ``mmseg_beit``.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import sys


def _compat():
    """``mmseg_beit.compat`` without running the package's ``__init__`` (which imports mmseg)."""
    module = sys.modules.get("mmseg_beit.compat")
    if module is None:
        package = importlib.util.find_spec("mmseg_beit")
        path = package.submodule_search_locations[0] + "/compat.py"
        spec = importlib.util.spec_from_file_location("mmseg_beit.compat", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["mmseg_beit.compat"] = module
        spec.loader.exec_module(module)
    return module


class _FallbackLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return _compat().fallback_ops_module()

    def exec_module(self, module):
        pass


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _compat().patch_mmengine_package_utils(module)


class _StackFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ("mmcv.ops", "mmengine.utils.package_utils"):
            return None
        if importlib.util.find_spec("mmseg_beit") is None:  # uninstalled, .pth left behind
            return None
        if fullname == "mmcv.ops":
            if importlib.util.find_spec("mmcv._ext") is not None:
                return None
            return importlib.util.spec_from_loader(fullname, _FallbackLoader())
        if importlib.util.find_spec("pkg_resources") is not None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


if not any(isinstance(finder, _StackFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _StackFinder())
