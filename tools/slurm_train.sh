#!/usr/bin/env bash
# tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args]
# Env: GPUS (total, 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS.
set -euo pipefail
source "$(dirname "$0")/launch_lib.sh"
srun_tool "$1" "$2" train.py "$3" --launcher slurm "${@:4}"
