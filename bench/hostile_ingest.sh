#!/usr/bin/env bash
# Peak memory of `lore serve` while it ingests each hostile sample file (deep nesting,
# decompression bombs; `lore bench hostile-files`), one fresh server per file so each
# peak is its own: VmHWM (the kernel's resident high-water mark) before and after the
# upload, and the file's per-file status. Also the idle server's RSS for reference.
#
#   bench/hostile_ingest.sh        (needs a built lore: make build)
set -euo pipefail
cd "$(dirname "$0")/.."
lore="${LORE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/lore-target}/debug/lore}"
work="$(mktemp -d)"
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
"$lore" bench hostile-files "$work/files" > /dev/null

hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }

printf "%-26s %10s %10s %10s %10s  %s\n" file bytes "idle MiB" "peak MiB" "above" status
for f in "$work"/files/*; do
  data="$work/data-$(basename "$f")"
  key="$("$lore" --data-dir "$data" keys create --role admin --rate unlimited --name bench)"
  "$lore" --data-dir "$data" serve --bind 127.0.0.1:0 > "$work/out" 2> "$work/log" &
  pid=$!
  until grep -q "listening on" "$work/out" 2>/dev/null; do sleep 0.01; done
  url="$(grep -o 'http://[^ ]*' "$work/out")"
  curl -sf -H "Authorization: Bearer $key" -X POST "$url/v1/collections" \
    -H 'content-type: application/json' -d '{"name":"h"}' > /dev/null
  idle="$(rss "$pid")"
  status="$(curl -s -H "Authorization: Bearer $key" -F "file=@$f" \
    "$url/v1/collections/h/documents?wait_ms=110000" |
    python3 -c 'import json,sys; f=json.load(sys.stdin)["files"][0]; print(f["status"], f.get("code",""))')"
  peak="$(hwm "$pid")"
  curl -sf "$url/health" > /dev/null || status="$status SERVER DOWN"
  printf "%-26s %10s %10s %10s %10s  %s\n" "$(basename "$f")" "$(stat -c %s "$f")" "$idle" "$peak" "$((peak - idle))" "$status"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
