#!/usr/bin/env bash
# Side by side on the same text: datatrove WordStats + LineStats versus
# `regime profile` (built-in tokenizer, n <= 4, one worker), per-core
# throughput of each and the ratio (issue 3 asks for >= 20x).
#
# Usage: scripts/profile/side_by_side.sh [CORPUS.parquet] [ROWS]
#   CORPUS  default ~/.cache/regime-data/sharegpt-sharegpt.parquet
#   ROWS    first ROWS conversations of it (default 1500; 0 = all). datatrove
#           runs at a fraction of a MB/s, so a slice keeps the run short.
# Env: REGIME_BIN (default target/release/regime),
#      REGIME_DATATROVE_VENV (default ~/.cache/regime-data/.venv-profile-datatrove;
#      created with datatrove + spaCy + tldextract when missing; datatrove
#      is not a dependency of regime).
#
# Per-core throughput = MB of turn text / CPU seconds (user + system), so a
# loaded machine slows both tools' wall time but not the ratio much. regime's
# CPU time is the whole process: parquet decode, tokenising, every figure of
# the report and writing it; datatrove's is its two stats steps only (the
# parquet read and Document building are outside its clock).
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${1:-$HOME/.cache/regime-data/sharegpt-sharegpt.parquet}
rows=${2:-1500}
bin=${REGIME_BIN:-target/release/regime}
venv=${REGIME_DATATROVE_VENV:-$HOME/.cache/regime-data/.venv-profile-datatrove}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import datatrove, spacy, tldextract' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q datatrove spacy tldextract regex tokenizers pyarrow
fi
[ -x "$bin" ] || { echo "error: $bin not found (cargo build --release)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" - "$corpus" "$rows" "$work/slice.parquet" <<'PY'
import sys
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1])
rows = int(sys.argv[2])
pq.write_table(table.slice(0, rows) if rows > 0 else table, sys.argv[3])
PY

dt=$("$venv/bin/python" scripts/profile/datatrove_side_by_side.py "$work/slice.parquet")
/usr/bin/time -f '%U %S %M' -o "$work/time" \
    "$bin" profile "$work/slice.parquet" -j 1 --out "$work/out" -q
read -r user sys rss_kb < "$work/time"
"$venv/bin/python" - "$dt" "$user" "$sys" "$rss_kb" "$rows" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
dt = json.loads(sys.argv[1])
user, sys_s, rss_kb, rows, load = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
mb = dt["bytes"] / 1e6
cpu = user + sys_s
regime = mb / cpu
print(f"text: {mb:.1f} MB in {dt['documents']} turns (first {rows} conversations; 0 = all); load average {load}")
print(f"datatrove WordStats + LineStats: {dt['cpu_s']:.2f} CPU-s -> {dt['mb_per_cpu_s']:.3f} MB/s per core")
print(f"regime profile -j 1:             {cpu:.2f} CPU-s -> {regime:.2f} MB/s per core (peak RSS {rss_kb / 1024:.0f} MiB)")
print(f"ratio: {regime / dt['mb_per_cpu_s']:.1f}x")
PY
