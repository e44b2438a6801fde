#!/usr/bin/env bash
# The main job on the embedded benchmark, end to end on CPU:
#   1. generate the procedural MMIO benchmark (skipped when present),
#   2. check it with the dataset doctor,
#   3. stage 1: train the YOLO-World-N demo on the seen classes (the
#      baseline row, and the seen-class CNN whose backbone becomes RTVP's
#      expert); stage 2: train the RTVP demo with the stage-1 backbone
#      after its first epoch as the expert,
#   4. evaluate zero-shot on the test images under both protocols
#      (generalised and unseen-only vocabulary), print the table and draw
#      every test image with its ground truth beside the detections,
#   5. save pictures of detections of unseen defects named by their text.
# The two trainings overlap, one thread each: stage 2 starts as soon as
# stage 1 has saved its first epoch, and stage 1 goes on with its remaining
# epochs and its evaluation on the other core. On the 2-core machine a
# second thread barely speeds up one training (YOLO-World-N demo: 2.0 s per
# batch with 2 threads, 2.1 s with 1), while two one-thread jobs run side by
# side at almost full speed.
# Environment: CONFIG, WORK_DIR, DATA, OUT, OMP_NUM_THREADS (default 1)
# override the defaults below.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${MMASE_VENV:-$HOME/.local/share/mmase/venv}"
PY="$VENV/bin/python"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
CONFIG="${CONFIG:-configs/rtvp/rtvp_yolo-world-n-effnet_1xb4-4e_mmio-zs-demo.py}"
STAGE1_CONFIG="${STAGE1_CONFIG:-configs/yolo_world/yolo-world_n-effnet_1xb4-4e_mmio-zs-demo.py}"
STAGE1_DIR="${STAGE1_DIR:-work_dirs/$(basename "$STAGE1_CONFIG" .py)}"
NAME="$(basename "$CONFIG" .py)"
WORK_DIR="${WORK_DIR:-work_dirs/$NAME}"
DATA="${DATA:-data/mmio_synth}"
OUT="${OUT:-outputs/$NAME}"
START=$(date +%s)
step() { echo; echo "[demo] $(date +%H:%M:%S) (+$(( $(date +%s) - START ))s) $*"; }

step "1/5 embedded MMIO benchmark in $DATA"
if [ -f "$DATA/annotations/instances_zs_test.json" ]; then
  echo "[demo]   exists, kept"
else
  "$PY" tools/data/make_synthetic.py mmio --out "$DATA"
fi

step "2/5 dataset doctor"
"$PY" tools/data/check_dataset.py "$DATA"

step "3/5 stage 1: train $STAGE1_CONFIG (seen classes; log: $STAGE1_DIR.log)"
mkdir -p "$STAGE1_DIR"
MARK="$(mktemp)"  # only a checkpoint newer than this run counts
# stage 1 in the background: training, then its evaluation under both
# protocols (generalised: seen + unseen names; unseen-only vocabulary)
(
  "$PY" tools/train.py "$STAGE1_CONFIG" --work-dir "$STAGE1_DIR" \
    --cfg-options default_hooks.checkpoint.interval=1
  ckpt="$(cat "$STAGE1_DIR/last_checkpoint")"
  for protocol in all unseen; do
    "$PY" tools/test.py "$STAGE1_CONFIG" "$ckpt" \
      --work-dir "$STAGE1_DIR/test_$protocol" \
      --cfg-options test_dataloader.dataset.vocabulary=$protocol
  done
) > "$STAGE1_DIR.log" 2>&1 &
STAGE1_PID=$!
EXPERT="$STAGE1_DIR/expert_epoch_1.pth"
until [ -n "$(find "$STAGE1_DIR" -maxdepth 1 -name epoch_1.pth -newer "$MARK" 2>/dev/null)" ]; do
  if ! kill -0 "$STAGE1_PID" 2>/dev/null; then
    wait "$STAGE1_PID" || true
    echo "[demo] stage 1 failed before its first epoch:"; tail -40 "$STAGE1_DIR.log"; exit 1
  fi
  sleep 2
done
rm -f "$MARK"
# epoch_1.pth is complete once it exists (written to a temporary file, then
# renamed); keep a copy, stage 1 deletes it when it saves the next epoch
cp "$STAGE1_DIR/epoch_1.pth" "$EXPERT.tmp" && mv "$EXPERT.tmp" "$EXPERT"
step "3/5 stage 2: train $CONFIG (seen classes), expert = $EXPERT"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" --cfg-options \
  model.expert.init_cfg.type=Pretrained \
  model.expert.init_cfg.checkpoint="$EXPERT" \
  model.expert.init_cfg.prefix=backbone.
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
wait "$STAGE1_PID" || { echo "[demo] stage 1 failed:"; tail -40 "$STAGE1_DIR.log"; exit 1; }
STAGE1_CKPT="$(cat "$STAGE1_DIR/last_checkpoint")"

step "4/5 zero-shot evaluation of RTVP on the test images (both protocols)"
# The unseen-only run also draws every test image with its ground truth
# (left) beside the detections (right) into $OUT/gt_vs_pred. Both run at
# once, one thread each.
mkdir -p "$OUT"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" \
  > "$WORK_DIR/test.log" 2>&1 &
GEN_PID=$!
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/unseen_only" \
  --show-dir "$(cd "$OUT" && pwd)/gt_vs_pred" \
  --cfg-options test_dataloader.dataset.vocabulary=unseen \
  default_hooks.visualization.score_thr=0.1 \
  > "$WORK_DIR/test_unseen_only.log" 2>&1 \
  || { tail -40 "$WORK_DIR/test_unseen_only.log"; exit 1; }
wait "$GEN_PID" || { tail -40 "$WORK_DIR/test.log"; exit 1; }
echo "[demo] YOLO-World-N (stage 1): $STAGE1_CKPT"
"$PY" - "$DATA/split.json" "$WORK_DIR/metrics.json" \
  "$WORK_DIR/unseen_only/metrics.json" "$STAGE1_DIR/test_all/metrics.json" \
  "$STAGE1_DIR/test_unseen/metrics.json" <<'PY'
import json, sys
split = json.load(open(sys.argv[1]))
print(f"unseen classes ({len(split['unseen'])}): {', '.join(split['unseen'])}")
print('| model | protocol | subset | AP | AP50 | AP75 | APs | APm | APl | Precision | Recall |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
runs = [(sys.argv[2], 'RTVP', 'generalised (seen + unseen names)'),
        (sys.argv[3], 'RTVP', 'unseen-only vocabulary'),
        (sys.argv[4], 'YOLO-World-N', 'generalised (seen + unseen names)'),
        (sys.argv[5], 'YOLO-World-N', 'unseen-only vocabulary')]
for path, model, protocol in runs:
    metrics = json.load(open(path))
    for subset in ('unseen', 'seen'):
        if f'zs/{subset}_bbox_mAP' not in metrics:
            continue
        keys = [f'bbox_{c}' for c in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s',
                                      'mAP_m', 'mAP_l')] + ['precision', 'recall']
        vals = [metrics[f'zs/{subset}_{k}'] for k in keys]
        # COCO gives -1 for an area range with no object
        vals = ['-' if v < 0 else f'{100 * v:.1f}' for v in vals]
        print(f'| {model} | {protocol} | {subset} | ' + ' | '.join(vals) + ' |')
PY

step "5/5 detections of unseen defects named by text -> $OUT"
UNSEEN="$("$PY" -c "import json; print(' . '.join(json.load(open('$DATA/split.json'))['unseen']))")"
IMGS="$("$PY" -c "
import json
d = json.load(open('$DATA/annotations/instances_zs_test.json'))
print(' '.join('$DATA/images/' + im['file_name'] for im in d['images'][:4]))")"
# shellcheck disable=SC2086  # one argument per image path
"$PY" tools/demo/image_demo.py $IMGS "$CONFIG" "$CKPT" --texts "$UNSEEN" \
  --out "$OUT" --score-thr 0.02 --topk 5
step "done: metrics in $WORK_DIR/metrics.json (generalised) and $WORK_DIR/unseen_only/metrics.json, pictures in $OUT"
