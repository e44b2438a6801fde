#!/usr/bin/env bash
# Testing on a Slurm cluster (one task per GPU, mmengine's slurm launcher).
#   bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT \
#       [test.py args...]
# Environment: as tools/slurm_train.sh.
# Example: bash tools/slurm_test.sh gpu rtvp \
#   configs/rtvp/rtvp_yolo-world-s_4xb8-200e_mmio-zs.py \
#   work_dirs/rtvp_yolo-world-s_4xb8-200e_mmio-zs/epoch_200.pth \
#   --out preds.pkl
set -euo pipefail
if [ "$#" -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]" >&2
  exit 2
fi
exec bash "$(dirname "$0")/slurm_launch.sh" "$1" "$2" test.py "$3" "$4" \
    --launcher=slurm "${@:5}"
