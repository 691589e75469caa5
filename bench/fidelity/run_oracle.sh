#!/usr/bin/env bash
# Run the paper's code (the oracle) on the 10 trials of bench/fidelity/trials.py.
#   PY       the paper venv's python (torch 2.13: $NSREF/venv/bin/python; torch 1.12: a py3.10 venv)
#   SRC      the patched paper tree ($NSREF/src: workers off; a PAPERBENCH_WORKERS=2 tree: workers on)
#   OUT      folder for <trial>.json
#   ONLY     optional: a regex of trial names
# Single-threaded, nice 10, one trial after the other; an existing <trial>.json is kept.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$OUT"
python3 "$HERE/trials.py" | while IFS='|' read -r name family mod arch seed lr bs ep pu pe; do
  [[ -n "${ONLY:-}" && ! "$name" =~ $ONLY ]] && continue
  [ -f "$OUT/$name.json" ] && continue
  OMP_NUM_THREADS=1 nice -n 10 "$PY" "$HERE/oracle.py" --src "$SRC" --family "$family" --modularity $mod \
    --arch $arch --seed "$seed" --lr "$lr" --batch-size "$bs" --epochs "$ep" --pu "$pu" --pe "$pe" \
    --out "$OUT/$name.json" > "$OUT/$name.log" 2>&1 || echo "$name failed" >> "$OUT/failed.txt"
  echo "$(date +%T) $name done" >> "$OUT/progress.txt"
done
