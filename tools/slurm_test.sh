#!/usr/bin/env bash
# tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
# Env: GPUS (total, 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
srun_tool "$1" "$2" test.py "$3" "$4" --launcher slurm "${@:5}"
