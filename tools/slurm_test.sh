#!/usr/bin/env bash
# tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [mmseg-beit test args]
# Env: GPUS (total, 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
need_args $# 4 "tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test args]
  (env: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS)" "${1:-}"
srun_tool "$1" "$2" test "$3" "$4" --launcher slurm "${@:5}"
