"""``mmseg-beit convert`` as a script: official (unilm / timm), mmpretrain and Hugging Face
weights, detected from the source."""

import sys

from mmseg_beit.cli import command_main

if __name__ == "__main__":
    sys.exit(command_main("convert"))
