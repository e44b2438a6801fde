#!/usr/bin/env bash
# Distributed training with torchrun.
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# On a machine without CUDA the processes run on CPU with the gloo backend.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node
# (tools/dist_launch.sh).
set -euo pipefail
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" \
    --launcher pytorch "${@:3}"
