#!/usr/bin/env bash
# Is our validation loss above PyTorch's because of the random stream or the arithmetic? The cpu preset trained
# from the same initial weights on both sides, with the same or different batches (docs/RESULTS.md has the table).
# Needs the jar (make build) and Debian's PyTorch (scripts/install-system-packages.sh bench); about 25 minutes on
# 2 cores. Writes OUT (default target/loss-gap): one JSON or log per run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/loss-gap}
DATA=${GPT_DATA_FILE:-data/tinyshakespeare.txt}
mkdir -p "$OUT"
J="java -jar target/gpt.jar"
P="/usr/bin/python3 scripts/pytorch_parity.py"
export GPT_DATA_URL=${GPT_DATA_URL:-file://$(realpath "$DATA")}
# Our initial weights (seed 1337), exported for PyTorch.
$J train --preset cpu --max-iters 0 --out "$OUT/ours0" --force --sample-tokens 0 > /dev/null
$J export --ckpt "$OUT/ours0" --to "$OUT/ours0.npz"
CFG="$OUT/ours0/config.json"
# Ours: our init, our batches, our arithmetic (seeds 1337, 1, 2).
for s in 1337 1 2; do
  $J train --preset cpu --seed $s --out "$OUT/ours-$s" --force --sample-tokens 0 > "$OUT/ours-$s.log"
done
# PyTorch's arithmetic on our init and exactly our batches (java.util.Random's stream, seed 1338).
$P train --config "$CFG" --data "$DATA" --init "$OUT/ours0.npz" --java-batches 1338 --steps 2000 \
  --eval-interval 250 --eval-iters 200 > "$OUT/torch-our-init-our-batches.json"
# PyTorch on our init with its own batches (torch seeds 1337, 1, 2).
for s in 1337 1 2; do
  $P train --config "$CFG" --data "$DATA" --init "$OUT/ours0.npz" --seed $s --steps 2000 --eval-interval 2000 \
    --eval-iters 200 > "$OUT/torch-our-init-$s.json"
done
# PyTorch's own init (torch seed 1337): imported and trained here on our batches, and trained there on its own.
$P train --config "$CFG" --data "$DATA" --seed 1337 --steps 0 --npz-out "$OUT/torch0.npz" > /dev/null
$J import --from "$OUT/torch0.npz" --preset cpu --out "$OUT/torch0" --force
$J train --init "$OUT/torch0" --out "$OUT/ours-torch-init" --force --sample-tokens 0 > "$OUT/ours-torch-init.log"
$P train --config "$CFG" --data "$DATA" --init "$OUT/torch0.npz" --seed 1337 --steps 2000 --eval-interval 2000 \
  --eval-iters 200 > "$OUT/torch-torch-init-1337.json"
for f in "$OUT"/*.log; do echo "$(basename "$f" .log): $(grep '^done:' "$f")"; done
for f in "$OUT"/*.json; do
  python3 -c "import json,sys; e=json.load(open(sys.argv[1]))['evaluations'][-1]; print(sys.argv[2]+':', 'step', e['step'], 'val', round(e['val_loss'], 4))" "$f" "$(basename "$f" .json)"
done
