#!/usr/bin/env bash
# Copyright (c) mmase contributors. All rights reserved.
#
# Train and evaluate the demo configs on the embedded MMIO-style benchmark
# and print the RTVP paper's table 2b (MMIO zero-shot: Method | Params | AP |
# AP50 | AP75) with the measured numbers, plus table 2a for the closed-set
# YOLO baseline (a closed-set detector has no zero-shot result).
#
#   bash tools/analysis/run_paper_benchmark.sh
#
# Runs (each: short training, then tools/test.py on the test split):
#   RTVP            configs/rtvp/rtvp_mmio_demo.py              zero-shot
#   YOLO-World-S    configs/yolo_world/yolo_world_s_mmio_demo.py zero-shot
#   GLIP-T          configs/glip/glip_t_mmio_demo.py (tiny random BERT)
#   RTMDet-S        configs/yolo/rtmdet_s_mmio_closed_demo.py    closed split
#
# The schedules are cut to a few CPU minutes per model: EPOCHS epochs on the
# first TRAIN_IMAGES training images. These are pipeline numbers on
# procedural data with random initialisation, not the paper's results.
# Environment knobs (defaults in brackets):
#   EPOCHS [2]  TRAIN_IMAGES [64]
#   OUT [work_dirs/paper_benchmark]  PY [the mmase venv python, else python]
#   MODELS ["rtvp yolo_world glip rtmdet"]  THREADS [OMP threads, 2]
# The configs read data/mmio_synth (rendered here when missing).
# Outputs: OUT/<model>/ (logs, checkpoint, test metrics), OUT/table2b.csv,
# OUT/table2a.csv, OUT/curves_<model>.png.
set -euo pipefail

cd "$(dirname "$0")/../.."
DEFAULT_PY=/root/.local/share/mmase/venv/bin/python
PY=${PY:-$([ -x "$DEFAULT_PY" ] && echo "$DEFAULT_PY" || echo python)}
EPOCHS=${EPOCHS:-2}
TRAIN_IMAGES=${TRAIN_IMAGES:-64}
DATA=data/mmio_synth
OUT=${OUT:-work_dirs/paper_benchmark}
MODELS=${MODELS:-"rtvp yolo_world glip rtmdet"}
export OMP_NUM_THREADS=${THREADS:-2}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error

declare -A CONFIG=(
  [rtvp]=configs/rtvp/rtvp_mmio_demo.py
  [yolo_world]=configs/yolo_world/yolo_world_s_mmio_demo.py
  [glip]=configs/glip/glip_t_mmio_demo.py
  [rtmdet]=configs/yolo/rtmdet_s_mmio_closed_demo.py
)
declare -A LABEL=(
  [rtvp]=RTVP [yolo_world]=YOLO-W-S [glip]=GLIP-T [rtmdet]=RTMDet-S
)

if [ ! -f "$DATA/annotations/instances_zs_test.json" ]; then
  echo "== rendering the MMIO-style benchmark into $DATA"
  "$PY" tools/data/make_synthetic.py mmio --out "$DATA"
fi
if [[ " $MODELS " == *" glip "* ]] && [ ! -f work_dirs/tiny_bert/config.json ]; then
  echo "== writing the tiny random BERT for GLIP into work_dirs/tiny_bert"
  "$PY" tools/misc/make_tiny_bert.py --out work_dirs/tiny_bert
fi

mkdir -p "$OUT"
ZS_RUNS=()
CLOSED_RUNS=()
for m in $MODELS; do
  cfg=${CONFIG[$m]:?unknown model $m (one of: ${!CONFIG[*]})}
  wd="$OUT/$m"
  echo "== $m: training $cfg ($EPOCHS epochs, $TRAIN_IMAGES images)"
  start=$(date +%s)
  "$PY" tools/train.py "$cfg" --work-dir "$wd" --cfg-options \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval=1000 \
    train_dataloader.dataset.indices="$TRAIN_IMAGES" \
    train_dataloader.num_workers=1 val_dataloader.num_workers=1 \
    test_dataloader.num_workers=1 > "$wd.train.log" 2>&1 \
    || { echo "training $m failed, see $wd.train.log"; tail -20 "$wd.train.log"; exit 1; }
  ckpt=$(cat "$wd/last_checkpoint")
  echo "== $m: testing $ckpt ($(( $(date +%s) - start )) s of training)"
  "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$wd" > "$wd.test.log" 2>&1 \
    || { echo "testing $m failed, see $wd.test.log"; tail -20 "$wd.test.log"; exit 1; }
  "$PY" tools/analysis/plot_logs.py "$wd" --out "$OUT/curves_$m.png" \
    --title "${LABEL[$m]}" > /dev/null || true
  if [ "$m" = rtmdet ]; then
    CLOSED_RUNS+=("${LABEL[$m]}=$wd")
  else
    ZS_RUNS+=("${LABEL[$m]}=$wd")
  fi
done

echo
if [ ${#ZS_RUNS[@]} -gt 0 ]; then
  echo "Table 2b (MMIO zero-shot, unseen classes; embedded benchmark, short CPU schedule)"
  "$PY" tools/analysis/paper_table.py --table 2b --runs "${ZS_RUNS[@]}" \
    --out "$OUT/table2b.csv"
fi
if [ ${#CLOSED_RUNS[@]} -gt 0 ]; then
  echo
  echo "Table 2a (MMIO closed split) for the closed-set baseline"
  "$PY" tools/analysis/paper_table.py --table 2a --runs "${CLOSED_RUNS[@]}" \
    --out "$OUT/table2a.csv"
fi
