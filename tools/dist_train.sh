#!/usr/bin/env bash
# Multi-process training through torchrun:  tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
# e.g. tools/dist_train.sh configs/yolo11n_fasternet_fire.py 4 --data my.yaml --epochs 30 --batch 16
# (the args are passed as they are; --batch is per process, and --nbs accumulation counts the total
# batch from torchrun's WORLD_SIZE)
# Multi-node: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=host0 tools/dist_train.sh CONFIG GPUS_PER_NODE
set -euo pipefail
CONFIG=$1
NPROC=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$( [[ -x $ROOT/.venv/bin/python ]] && echo "$ROOT/.venv/bin/python" || echo python)}"
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
