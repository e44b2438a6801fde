#!/usr/bin/env bash
# Install mmase and its stack into an isolated virtual environment.
#
# Idempotent: every step is skipped when what it installs is already there and
# working. Re-run it after pulling; it finishes in seconds when nothing changed.
#
# Environment variables:
#   MMASE_VENV   where the environment lives. Defaults to ~/.local/share/mmase/venv.
#   PYTHON       interpreter used to create it. Defaults to python3.11 (or python3).
#   FORCE_CUDA   1 builds mmcv's CUDA ops as well (needs nvcc matching torch's CUDA).
#                Defaults to 0 (CPU ops only).
#   MAX_JOBS     parallel compile jobs for the mmcv build. Defaults to nproc.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMASE_VENV:-$HOME/.local/share/mmase/venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
CONSTRAINTS="$ROOT/requirements/constraints.txt"
export FORCE_CUDA="${FORCE_CUDA:-0}"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"

step() { CURRENT_STEP="$1"; echo "[install] $(date +%H:%M:%S) step: $1"; }
trap 'echo "[install] FAILED at step: ${CURRENT_STEP:-start}" >&2' ERR

step "virtual environment at $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
else
  echo "[install]   exists, kept"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)

step "torch 2.13.0 (CUDA build, also runs on CPU) + torchvision 0.28.0"
if "$PY" - <<'PY' 2>/dev/null
import torch, torchvision
assert torch.__version__.split('+')[0] == '2.13.0' and '+cpu' not in torch.__version__
assert torchvision.__version__.split('+')[0] == '0.28.0'
PY
then
  echo "[install]   satisfied"
else
  "${PIP[@]}" "torch==2.13.0,!=2.13.0+cpu" "torchvision==0.28.0"
fi

step "build tools: setuptools>=77,<81, wheel, ninja"
"${PIP[@]}" -c "$CONSTRAINTS" "setuptools>=77,<81" wheel ninja

step "mmcv 2.1.0 with ops (FORCE_CUDA=$FORCE_CUDA)"
mmcv_ok() {
  "$PY" - <<'PY' 2>/dev/null
import torch, mmcv
assert mmcv.__version__ == '2.1.0'
from mmcv.ops import nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
_, keep = nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
assert keep.tolist() == [0]
PY
}
if mmcv_ok; then
  echo "[install]   satisfied"
else
  # mmcv's runtime deps, installed first so the build finds them.
  "${PIP[@]}" -c "$CONSTRAINTS" addict "mmengine>=0.10.4,<0.11" numpy packaging Pillow pyyaml yapf opencv-python
  start=$(date +%s)
  MMCV_WITH_OPS=1 "${PIP[@]}" -c "$CONSTRAINTS" --no-build-isolation --no-deps mmcv==2.1.0
  if ! mmcv_ok; then
    echo "[install]   cached mmcv wheel does not match this torch; rebuilding it"
    "$PY" -m pip uninstall -y mmcv
    MMCV_WITH_OPS=1 "${PIP[@]}" -c "$CONSTRAINTS" --no-build-isolation --no-deps --no-cache-dir mmcv==2.1.0
    mmcv_ok
  fi
  echo "[install]   mmcv build took $(( ($(date +%s) - start) / 60 )) min"
fi

step "mmase and its Python dependencies"
"${PIP[@]}" -c "$CONSTRAINTS" -e "$ROOT" -r "$ROOT/requirements.txt"

step "smoke check"
"$PY" - <<'PY'
import mmcv, mmdet, mmpretrain, mmengine, torch, transformers
import mmpretrain.models  # noqa: F401
import mobile_sam  # noqa: F401
import mmase
print(f'[install]   torch {torch.__version__}, mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, '
      f'mmpretrain {mmpretrain.__version__}, mmengine {mmengine.__version__}, '
      f'transformers {transformers.__version__}, mmase {mmase.__version__}')
PY
echo "[install] done. Activate with: source $VENV/bin/activate"
