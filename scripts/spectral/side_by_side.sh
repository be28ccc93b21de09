#!/usr/bin/env bash
# Side-by-side timing of `regime spectral` and ../../shared/scripts/ww_reference.py
# (WeightWatcher 0.7.7 WWFit on numpy float64 SVD) on the same files, plus a
# matrix-by-matrix comparison of the results.
#
# Usage: scripts/spectral/side_by_side.sh VENV_DIR [WORK_DIR]
#   VENV_DIR: a venv with scripts/spectral/requirements.txt + weightwatcher==0.7.7
#   Needs a release build: cargo build --release (CARGO_TARGET_DIR respected).
set -euo pipefail
VENV=${1:?venv}; WORK=${2:-/tmp/regime-spectral-bench}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/regime
mkdir -p "$WORK"
[ -f "$WORK/llama135m/model.safetensors" ] || "$VENV/bin/python" "$ROOT/scripts/spectral/make_llama135m.py" "$WORK/llama135m" 0
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB"
for model in "$SHARED/data/models/all-minilm-l6-v2/model.safetensors" "$WORK/llama135m/model.safetensors"; do
  tag=$(basename "$(dirname "$model")")
  echo "== $tag ($(du -h "$model" | cut -f1))"
  /usr/bin/time -f "regime spectral: %e s wall, %M KiB max RSS" "$BIN" spectral "$model" --out "$WORK/$tag-regime" -q
  /usr/bin/time -f "ww_reference.py: %e s wall, %M KiB max RSS" "$VENV/bin/python" "$SHARED/scripts/ww_reference.py" "$model" "$WORK/$tag-ww.csv"
  "$VENV/bin/python" "$ROOT/scripts/spectral/compare_csv.py" "$WORK/$tag-regime/layers.csv" "$WORK/$tag-ww.csv" || true
done
