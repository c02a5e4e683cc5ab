#!/usr/bin/env bash
# tools/slurm_train.sh PARTITION JOB_NAME CONFIG [mmseg-beit train args]
# Env: GPUS (total, 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
need_args $# 3 "tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train args]
  (env: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS)" "${1:-}"
srun_tool "$1" "$2" train "$3" --launcher slurm "${@:4}"
