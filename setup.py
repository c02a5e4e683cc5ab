"""Build hooks: the package also installs ``mmseg_beit_startup.pth`` into site-packages, in
wheels and in editable installs (metadata: setup.cfg)."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME, PTH_LINE = "mmseg_beit_startup.pth", "import mmseg_beit_startup\n"


class BuildPy(build_py):
    """Writes the .pth beside the modules of the wheel."""

    def run(self):
        super().run()
        with open(os.path.join(self.build_lib, PTH_NAME), "w") as handle:
            handle.write(PTH_LINE)

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), os.path.join(self.build_lib, PTH_NAME)]


class EditableWheel(editable_wheel):
    """Adds the .pth to the editable wheel too (setuptools leaves non-module files out)."""

    def _select_strategy(self, *args, **kwargs):
        strategy = super()._select_strategy(*args, **kwargs)

        class WithStartupHook:
            def __enter__(self):
                strategy.__enter__()
                return self

            def __exit__(self, *exc):
                return strategy.__exit__(*exc)

            def __call__(self, wheel, files, mapping):
                strategy(wheel, files, mapping)
                wheel.writestr(PTH_NAME, PTH_LINE)

        return WithStartupHook()


setup(cmdclass={"build_py": BuildPy, "editable_wheel": EditableWheel})
