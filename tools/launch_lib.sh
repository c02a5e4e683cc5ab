# Sourced by dist_*.sh and slurm_*.sh: run `mmseg-beit train|test` as several processes.
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}"  # a source checkout works uninstalled

# need_args COUNT MIN USAGE: prints USAGE and exits 2 with fewer than MIN arguments, or 0 for
# -h / --help as the first argument.
need_args() {
    local count=$1 min=$2 usage=$3 first=${4:-}
    if [[ "$first" == "-h" || "$first" == "--help" ]]; then
        echo "usage: $usage"
        exit 0
    fi
    if (( count < min )); then
        echo "usage: $usage" >&2
        exit 2
    fi
}

# torchrun_tool NPROC COMMAND ARGS...: NPROC processes of `mmseg-beit COMMAND` on this machine.
# Several machines: NNODES, NODE_RANK, MASTER_ADDR and PORT, set the same way on each.
torchrun_tool() {
    local nproc=$1 command=$2
    shift 2
    python -m torch.distributed.run \
        --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
        --nproc_per_node="$nproc" -m mmseg_beit.cli "$command" "$@"
}

# srun_tool PARTITION JOB_NAME COMMAND ARGS...: one slurm task per GPU.
# Env: GPUS (total, 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS.
srun_tool() {
    local partition=$1 job_name=$2 command=$3
    shift 3
    local gpus_per_node=${GPUS_PER_NODE:-8}
    # shellcheck disable=SC2086  # SRUN_ARGS holds several words
    srun -p "$partition" --job-name="$job_name" --gres=gpu:"$gpus_per_node" \
        --ntasks="${GPUS:-8}" --ntasks-per-node="$gpus_per_node" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 \
        ${SRUN_ARGS:-} python -u -m mmseg_beit.cli "$command" "$@"
}
