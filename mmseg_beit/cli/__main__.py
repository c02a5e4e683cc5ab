"""``python -m mmseg_beit.cli`` (and ``torchrun -m mmseg_beit.cli train ...``)."""

import sys

from mmseg_beit.cli import main

sys.exit(main())
