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
# Runs (each: short training, then tools/test.py on the test split), in
# this order (the first row is the reference of the spread marks):
#   yolo_world   YOLO-World-N
#                configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py
#                (the YOLO-World-S style baseline at RTVP-N's width: the only
#                difference is RTVP's prompt branch)
#   rtvp         RTVP-N
#                configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py
#                zero-shot; its expert is the backbone of the same seed's
#                YOLO-World-N after its first epoch (the paper's first stage,
#                as in tools/run_demo.sh)
#   glip         GLIP-T demo
#                configs/glip/glip_swin-t-a_1xb8-4e_mmio-zs-demo.py (tiny
#                random BERT, so no language prior)
#   yolov8       YOLOv8-N-effnet
#                configs/yolo/yolov8_n-effnet_1xb4-4e_mmio-closed-demo.py
#                closed split (table 2a)
#   rtmdet       RTMDet-tiny-effnet
#                configs/yolo/rtmdet_tiny-effnet_1xb4-4e_mmio-closed-demo.py
#                closed split (table 2a)
# (all but GLIP-T start from the ImageNet EfficientNet-Lite0)
# and, when named in MODELS: yolo_world_s
# (yolo-world_s_1xb8-3e_mmio-zs-demo.py, half width), gdino
# (configs/grounding_dino/grounding-dino_swin-t_1xb4-4e_mmio-zs-demo.py), and
# the RTVP paper's table-5 ablations of the RTVP-N demo (the same changes as
# configs/rtvp/rtvp_yolo-world-s_4xb8-200e_mmio-zs_no-*.py, given as
# --cfg-options):
#   rtvp_no_expert       no expert, domain adapter or SAM adapters
#   rtvp_no_refine       no uncertainty scorer, sparse selection or aux head
#   rtvp_no_interaction  a learned constant gate instead of eq. 7
#
# Every model gets the same short schedule: EPOCHS epochs over the training
# split (all of it unless TRAIN_IMAGES is set; every demo's learning-rate
# schedule ends with training, so it stretches to EPOCHS), once per training
# seed
# (SEEDS runs with randomness.seed = 0 .. SEEDS-1; the data, rendered with
# seed 0, stays fixed). Zero-shot models are tested under both protocols
# (generalised: seen + unseen names; unseen-only vocabulary). With SEEDS > 1
# every cell is mean ± std over the seeds, and '*' marks a row whose mean
# differs from the first row's by more than both spreads. The estimate of
# the wall time is printed first (measured on a quiet 2-core machine).
# Environment knobs (defaults in brackets):
#   EPOCHS [4: the demo configs' own]  SEEDS [3]  FIRST_SEED [0: seeds
#   FIRST_SEED .. FIRST_SEED+SEEDS-1; split seeds over parallel runs]
#   TRAIN_IMAGES [all]  VAL_INTERVAL [none: validate on zs_val every N
#   epochs, for learning curves; nothing is selected on it]
#   OUT [work_dirs/paper_benchmark]  PY [python of MMASE_VENV
#   (tools/install.sh), else python]
#   MODELS ["yolo_world rtvp glip yolov8 rtmdet"]  JOBS [2: runs side by
#   side, each training or testing one model for one seed; they take the
#   (model, seed) runs in order, and an RTVP run waits for the YOLO-World-N
#   run of its seed, its expert]  THREADS [OMP threads per run, 1: a second
#   thread barely speeds up one run here, a second run uses the other core]
#   REUSE [0; 1: a run whose final checkpoint
#   OUT/<model>/seed<N>/epoch_<EPOCHS>.pth exists is only tested again]
# The configs read data/mmio_synth (rendered here when missing).
# Outputs: OUT/<model>/ (logs, checkpoint, test metrics), OUT/table2b.csv,
# OUT/table2a.csv, OUT/curves_<model>.png.
set -euo pipefail

cd "$(dirname "$0")/../.."
DEFAULT_PY="${MMASE_VENV:-$HOME/.local/share/mmase/venv}/bin/python"
PY=${PY:-$([ -x "$DEFAULT_PY" ] && echo "$DEFAULT_PY" || echo python)}
EPOCHS=${EPOCHS:-4}
SEEDS=${SEEDS:-3}
FIRST_SEED=${FIRST_SEED:-0}
TRAIN_IMAGES=${TRAIN_IMAGES:-}
REUSE=${REUSE:-0}
DATA=data/mmio_synth
OUT=${OUT:-work_dirs/paper_benchmark}
MODELS=${MODELS:-"yolo_world rtvp glip yolov8 rtmdet"}
JOBS=${JOBS:-2}
export OMP_NUM_THREADS=${THREADS:-1}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error

declare -A CONFIG=(
  [rtvp]=configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py
  [yolo_world]=configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py
  [yolo_world_s]=configs/yolo_world/yolo-world_s_1xb8-3e_mmio-zs-demo.py
  [glip]=configs/glip/glip_swin-t-a_1xb8-4e_mmio-zs-demo.py
  [gdino]=configs/grounding_dino/grounding-dino_swin-t_1xb4-4e_mmio-zs-demo.py
  [rtmdet]=configs/yolo/rtmdet_tiny-effnet_1xb4-4e_mmio-closed-demo.py
  [yolov8]=configs/yolo/yolov8_n-effnet_1xb4-4e_mmio-closed-demo.py
)
# closed-set detectors: one test pass, table 2a
CLOSED=" rtmdet yolov8 "
declare -A LABEL=(
  [rtvp]=RTVP-N [yolo_world]=YOLO-World-N [yolo_world_s]=YOLO-World-S
  [glip]=GLIP-T-demo [gdino]=Grounding-DINO-T-demo [rtmdet]=RTMDet-tiny-effnet
  [yolov8]=YOLOv8-N-effnet [rtvp_no_expert]=RTVP-N-no-expert
  [rtvp_no_refine]=RTVP-N-no-refine [rtvp_no_interaction]=RTVP-N-no-interaction
)
# The demos recompute the BN statistics (PreciseBNHook, the second custom
# hook) every `max_epochs` epochs; keep that at the end of the schedule.
declare -A EXTRA=(
  [rtvp]="custom_hooks.1.interval=$EPOCHS"
  [yolo_world]="custom_hooks.1.interval=$EPOCHS default_hooks.checkpoint.interval=1 default_hooks.checkpoint.max_keep_ckpts=-1"
  [yolo_world_s]="custom_hooks.1.interval=$EPOCHS"
  [yolov8]="custom_hooks.1.interval=$EPOCHS"
  [rtmdet]="custom_hooks.1.interval=$EPOCHS"
)
# the ablations: their base model (the name before `_no_`, with its config
# and EXTRA options) plus these model changes, given to training and testing
# alike
declare -A MODEL_OPTS=(
  [rtvp_no_expert]="model.sam_backbone.with_adapter=False model.expert=None model.domain_adapter=None model.expert_shared_stages=0"
  [rtvp_no_refine]="model.prompt_refiner=None model.aux_head=None"
  [rtvp_no_interaction]="model.interaction.use_text=False"
)

if [ ! -f "$DATA/annotations/instances_zs_test.json" ]; then
  echo "== rendering the MMIO-style benchmark into $DATA"
  "$PY" tools/data/make_synthetic.py mmio --out "$DATA"
fi
if [[ " $MODELS " == *" glip "* || " $MODELS " == *" gdino "* ]] \
    && [ ! -f work_dirs/tiny_bert/config.json ]; then
  echo "== writing the tiny random BERT for GLIP/Grounding DINO into work_dirs/tiny_bert"
  "$PY" tools/misc/make_tiny_bert.py --out work_dirs/tiny_bert
fi

# seconds per epoch (train) and per test pass on the 2-core machine, one
# thread, two runs side by side (the default run of 2026-11-30: YOLO-World-N
# and RTVP-N demos about 1.0 and 1.5 s per batch of 4), for the estimate
declare -A EPOCH_S=([rtvp]=140 [yolo_world]=100 [yolo_world_s]=90 [glip]=230
                    [gdino]=570 [rtmdet]=150 [yolov8]=115 [rtvp_no_expert]=120
                    [rtvp_no_refine]=135 [rtvp_no_interaction]=140)
declare -A TEST_S=([rtvp]=55 [yolo_world]=40 [yolo_world_s]=40 [glip]=60
                   [gdino]=60 [rtmdet]=40 [yolov8]=45 [rtvp_no_expert]=50
                   [rtvp_no_refine]=50 [rtvp_no_interaction]=55)
est=0
for m in $MODELS; do
  passes=$([[ "$CLOSED" == *" $m "* ]] && echo 1 || echo 2)
  est=$(( est + SEEDS * (EPOCHS * ${EPOCH_S[$m]:-120} + passes * ${TEST_S[$m]:-40}) ))
done
echo "== estimate: about $(( est / JOBS / 60 )) min on a quiet 2-core CPU, $JOBS run(s) side by side ($SEEDS seed(s), $EPOCHS epoch(s), models: $MODELS)"

mkdir -p "$OUT"
SEED_LIST=$(seq "$FIRST_SEED" $(( FIRST_SEED + SEEDS - 1 )))
STATE="$OUT/.queue"  # the task list, the next task's index, each task's end
rm -rf "$STATE" && mkdir -p "$STATE"
TASKS=()
for m in $MODELS; do
  base=${m%%_no_*}
  if [ "$base" != "$m" ] && [ -z "${MODEL_OPTS[$m]:-}" ]; then
    echo "unknown ablation $m (one of: ${!MODEL_OPTS[*]})"; exit 1
  fi
  : "${CONFIG[$base]:?unknown model $m (one of: ${!CONFIG[*]} ${!MODEL_OPTS[*]})}"
  for seed in $SEED_LIST; do TASKS+=("$m $seed"); done
done
echo 0 > "$STATE/next"

# Train and test one model for one seed; its row of the wall-time table goes
# to OUT/<model>/seed<N>.time.
run_task() {
  local m=$1 seed=$2
  local base=${m%%_no_*}
  local cfg=${CONFIG[$base]}
  local wd="$OUT/$m/seed$seed"
  mkdir -p "$wd"
  # the demos' schedules end, and save their checkpoint, where training
  # does (configs/_base_/schedules/cpu_demo.py)
  local opts=(train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="${VAL_INTERVAL:-1000}"
              randomness.seed="$seed"
              train_dataloader.num_workers=1 val_dataloader.num_workers=1
              test_dataloader.num_workers=1)
  [ -n "$TRAIN_IMAGES" ] && opts+=(train_dataloader.dataset.indices="$TRAIN_IMAGES")
  [ -n "${EXTRA[$base]:-}" ] && opts+=(${EXTRA[$base]})
  local model_opts=(${MODEL_OPTS[$m]:-})
  opts+=("${model_opts[@]}")
  local stage1="$OUT/yolo_world/seed$seed/epoch_1.pth"
  if [[ "$m" == rtvp* && "$m" != rtvp_no_expert ]]; then
    # the paper's first stage: the seen-class YOLO-World-N of this seed
    # gives RTVP its pre-trained expert; wait for it when it runs here
    if [[ " $MODELS " == *" yolo_world "* ]]; then
      until [ -f "$STATE/yolo_world.$seed" ]; do sleep 5; done
      [ "$(cat "$STATE/yolo_world.$seed")" = ok ] \
        || { echo "== $m seed $seed: skipped, its YOLO-World-N (the expert) failed"; return 1; }
    fi
    [ -f "$stage1" ] && opts+=(model.expert.init_cfg.type=Pretrained
                               model.expert.init_cfg.checkpoint="$stage1"
                               model.expert.init_cfg.prefix=backbone.)
  fi
  local train_s
  if [ "$REUSE" = 1 ] && [ -f "$wd/epoch_$EPOCHS.pth" ]; then
    echo "== $m seed $seed: REUSE=1, keeping $wd/epoch_$EPOCHS.pth"
    realpath "$wd/epoch_$EPOCHS.pth" > "$wd/last_checkpoint"
    train_s=reused
  else
    echo "== $m seed $seed: training $cfg ($EPOCHS epochs, ${TRAIN_IMAGES:-all} training images)"
    local start=$(date +%s)
    "$PY" tools/train.py "$cfg" --work-dir "$wd" --cfg-options "${opts[@]}" \
      > "$wd.train.log" 2>&1 \
      || { echo "training $m seed $seed failed, see $wd.train.log"; tail -20 "$wd.train.log"; return 1; }
    train_s=$(( $(date +%s) - start ))
  fi
  local ckpt
  ckpt=$(cat "$wd/last_checkpoint")
  echo "== $m seed $seed: testing $ckpt ($train_s s of training)"
  local start=$(date +%s)
  local test_opts=("${model_opts[@]}")
  [ ${#test_opts[@]} -gt 0 ] && test_opts=(--cfg-options "${test_opts[@]}")
  "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$wd" "${test_opts[@]}" \
    > "$wd.test.log" 2>&1 \
    || { echo "testing $m seed $seed failed, see $wd.test.log"; tail -20 "$wd.test.log"; return 1; }
  local test_s=$(( $(date +%s) - start ))
  if [[ "$CLOSED" != *" $m "* ]]; then
    "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$wd/unseen_only" \
      --cfg-options test_dataloader.dataset.vocabulary=unseen "${model_opts[@]}" \
      > "$wd.test_unseen_only.log" 2>&1 \
      || { echo "unseen-only test of $m seed $seed failed, see $wd.test_unseen_only.log"; return 1; }
  fi
  echo "| ${LABEL[$m]} | $seed | $cfg | $train_s | $test_s |" > "$OUT/$m/seed$seed.time"
}

# JOBS lanes take the tasks in order (all seeds of the first model, then of
# the next, ...); a lane claims the next one under a lock.
lane() {
  local i status
  while true; do
    i=$(flock "$STATE/next" sh -c 'i=$(cat "$1"); echo $((i + 1)) > "$1"; echo "$i"' _ "$STATE/next")
    [ "$i" -lt ${#TASKS[@]} ] || return 0
    status=ok
    run_task ${TASKS[$i]} || status=failed
    echo "$status" > "$STATE/${TASKS[$i]/ /.}"
  done
}
PIDS=()
for _ in $(seq "$JOBS"); do lane & PIDS+=($!); done
for pid in "${PIDS[@]}"; do wait "$pid"; done
FAILED=$(grep -l failed "$STATE"/*.* 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ' || true)
[ -z "$FAILED" ] || { echo "failed: $FAILED(model.seed; logs in $OUT)"; exit 1; }

ZS_RUNS=()
ZS_UNSEEN_RUNS=()
CLOSED_RUNS=()
TIMES=()
for m in $MODELS; do
  dirs=()
  unseen_dirs=()
  for seed in $SEED_LIST; do
    dirs+=("$OUT/$m/seed$seed")
    unseen_dirs+=("$OUT/$m/seed$seed/unseen_only")
    TIMES+=("$(cat "$OUT/$m/seed$seed.time")")
  done
  "$PY" tools/analysis/plot_logs.py "$OUT/$m/seed$FIRST_SEED" --out "$OUT/curves_$m.png" \
    --title "${LABEL[$m]}" > /dev/null \
    || echo "warning: no loss curves for $m (see tools/analysis/plot_logs.py)"
  joined=$(IFS=,; echo "${dirs[*]}")
  if [[ "$CLOSED" == *" $m "* ]]; then
    CLOSED_RUNS+=("${LABEL[$m]}=$joined")
  else
    ZS_RUNS+=("${LABEL[$m]}=$joined")
    ZS_UNSEEN_RUNS+=("${LABEL[$m]}=$(IFS=,; echo "${unseen_dirs[*]}")")
  fi
done

echo
if [ ${#ZS_RUNS[@]} -gt 0 ]; then
  echo "Table 2b (MMIO zero-shot, unseen classes, generalised protocol: seen + unseen names; $SEEDS seed(s))"
  "$PY" tools/analysis/paper_table.py --table 2b --runs "${ZS_RUNS[@]}" \
    --out "$OUT/table2b.csv"
  echo
  echo "Table 2b (MMIO zero-shot, unseen classes, unseen-only vocabulary; $SEEDS seed(s))"
  "$PY" tools/analysis/paper_table.py --table 2b --no-params \
    --runs "${ZS_UNSEEN_RUNS[@]}" --out "$OUT/table2b_unseen_only.csv"
fi
if [ ${#CLOSED_RUNS[@]} -gt 0 ]; then
  echo
  echo "Table 2a (MMIO closed split) for the closed-set baselines"
  "$PY" tools/analysis/paper_table.py --table 2a --runs "${CLOSED_RUNS[@]}" \
    --out "$OUT/table2a.csv"
fi
echo
echo "Wall time on this machine (s)"
echo "| Method | Seed | Config | Train | Test |"
echo "|---|---|---|---|---|"
printf '%s\n' "${TIMES[@]}"
