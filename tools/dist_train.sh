#!/usr/bin/env bash
# tools/dist_train.sh CONFIG GPUS [train.py args]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR and PORT the same way on each.
# Without GPUs, GPUS CPU processes train with the gloo backend.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
torchrun_tool "$2" train.py "$1" --launcher pytorch "${@:3}"
