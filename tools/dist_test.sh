#!/usr/bin/env bash
# tools/dist_test.sh CONFIG CHECKPOINT GPUS [mmseg-beit test args, e.g. --eval mIoU]
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT, set the same way on each.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
need_args $# 3 "tools/dist_test.sh CONFIG CHECKPOINT GPUS [--eval mIoU] [--tta] [--out DIR] [--cfg-options K=V ...]
  (env: NNODES, NODE_RANK, MASTER_ADDR, PORT for several machines)" "${1:-}"
torchrun_tool "$3" test "$1" "$2" --launcher pytorch "${@:4}"
