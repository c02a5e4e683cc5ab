"""``mmseg-beit train`` as a script (also what tools/dist_*.sh and tools/slurm_*.sh run)."""

import sys

from mmseg_beit.cli import command_main

if __name__ == "__main__":
    sys.exit(command_main("train"))
