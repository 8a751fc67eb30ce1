#!/usr/bin/env bash
# Opens what students and teachers open, in headless Chromium (Debian's `chromium`): a chapter served by
# `make notebook-server` (with the Java kernel) and the static HTML book of `make html`. Checks that the chapter's
# prose, code and a plot are on the page, and saves screenshots in target/browser/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/browser
PORT=${BROWSER_TEST_PORT:-8899}
TOKEN=browser-test-$$
CHAPTER=07-self-attention
mkdir -p "$OUT"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "error: chromium is not installed (apt-get install chromium)"; exit 1; }
chrome() {  # chrome URL NAME: the page's DOM after scripts ran, and a screenshot
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
    --virtual-time-budget=20000 --dump-dom "$1" > "$OUT/$2.html" 2> "$OUT/$2.log"
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
    --virtual-time-budget=20000 --screenshot="$OUT/$2.png" "$1" >> "$OUT/$2.log" 2>&1
  echo "$2: $(wc -c < "$OUT/$2.html") bytes of DOM, screenshot $OUT/$2.png"
}
expect() {  # expect NAME WHAT PATTERN
  if grep -q -- "$3" "$OUT/$1.html"; then echo "  ok: $2"; else echo "error: $1: no $2 (pattern: $3)"; exit 1; fi
}

# 1. The notebook server, with the executed chapter (target/notebooks/), so its outputs are there to see.
make -s notebook-server PORT="$PORT" NOTEBOOK_TOKEN="$TOKEN" > "$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; pkill -f "notebook.*--port=$PORT" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:$PORT/api/kernelspecs?token=$TOKEN" > "$OUT/kernelspecs.json" 2>/dev/null && break
  kill -0 $SERVER 2>/dev/null || break   # the server stopped: its log says why
  sleep 1
done
grep -q '"java"' "$OUT/kernelspecs.json" || { echo "error: the server does not list the java kernel"; cat "$OUT/server.log"; exit 1; }
echo "server: up on port $PORT, kernels: $(python3 -c 'import json,sys; print(", ".join(json.load(open(sys.argv[1]))["kernelspecs"]))' "$OUT/kernelspecs.json")"
chrome "http://127.0.0.1:$PORT/notebooks/target/notebooks/$CHAPTER.ipynb?token=$TOKEN" served-notebook
expect served-notebook "chapter text" "<h1 id=\"7.-Self-attention\""
expect served-notebook "code cell" "CodeMirror"
expect served-notebook "code" "cm-variable\">Nd4j"
expect served-notebook "plot" "<img src=\"data:image/png;base64"
expect served-notebook "Java kernel" "kernel_indicator_name\">Java<"

# 2. The HTML book.
BOOK="file://$PWD/target/html"
chrome "$BOOK/index.html" book-index
expect book-index "link to the chapter" "href=\"$CHAPTER.html\""
chrome "$BOOK/$CHAPTER.html" book-chapter
expect book-chapter "chapter text" "Self-attention"
expect book-chapter "code" "Notebook"
expect book-chapter "plot" "<img[^>]*src=\"data:image/png;base64"
echo "browser test: passed (screenshots in $OUT)"
