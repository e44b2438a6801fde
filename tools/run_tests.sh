#!/usr/bin/env bash
# Install mmase if needed (tools/install.sh is idempotent), then run the test
# suite. Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -k yolo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMASE_VENV:-$HOME/.local/share/mmase/venv}"
bash "$ROOT/tools/install.sh"
cd "$ROOT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
start=$(date +%s)
"$VENV/bin/python" -m pytest tests "$@"
echo "[tests] suite took $(( $(date +%s) - start )) s"
