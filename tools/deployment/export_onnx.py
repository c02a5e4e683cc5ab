"""``mmseg-beit export`` as a script: a segmentor's window graph as ONNX or torch.export."""

import sys

from mmseg_beit.cli import command_main

if __name__ == "__main__":
    sys.exit(command_main("export"))
