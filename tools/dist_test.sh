#!/usr/bin/env bash
# tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args, e.g. --eval mIoU]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR and PORT the same way on each.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
torchrun_tool "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
