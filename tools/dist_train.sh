#!/usr/bin/env bash
# tools/dist_train.sh CONFIG GPUS [mmseg-beit train args]: GPUS processes (CPU processes with
# gloo where there is no GPU). Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT, set the
# same way on each.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
need_args $# 2 "tools/dist_train.sh CONFIG GPUS [--work-dir DIR] [--resume [CKPT]] [--cfg-options K=V ...]
  (env: NNODES, NODE_RANK, MASTER_ADDR, PORT for several machines)" "${1:-}"
torchrun_tool "$2" train "$1" --launcher pytorch "${@:3}"
