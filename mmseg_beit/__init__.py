"""mmseg-beit: BEiT and ViT UPerNet semantic segmentation for MMSegmentation.

Importing the package applies the stack fixes in :mod:`mmseg_beit.compat` (before mmseg is
imported) and registers all of mmseg's modules and this package's own in scope ``mmseg_beit``.
The inference API (:mod:`mmseg_beit.apis`) and the converters (:mod:`mmseg_beit.checkpoint`)
load on first use.
"""

from mmseg_beit import compat

compat.apply()

from mmseg.utils import register_all_modules  # noqa: E402

register_all_modules(init_default_scope=False)
import mmseg.visualization  # noqa: E402, F401  (SegLocalVisualizer; not imported by the above)

from mmseg_beit import datasets, engine, evaluation, models  # noqa: E402, F401
from mmseg_beit.registry import SCOPE  # noqa: E402
from mmseg_beit.version import __version__  # noqa: E402

__all__ = ["SCOPE", "__version__"]
