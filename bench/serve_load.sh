#!/usr/bin/env bash
# Start-up time, RSS and a wrk load test of POST /v1/search (SciFact queries, 100
# connections, 30 s per mode) against `lore serve` on loopback.
# Needs the SciFact collection in $DATA (`lore eval beir ../shared/data/beir/scifact`
# ingests it as `scifact`) and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
lore="${LORE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/lore-target}/debug/lore}"
data="${DATA:-$HOME/.local/share/lore}"
secs="${SECS:-30}"
queries=../shared/data/beir/scifact/queries.jsonl
out="$(mktemp)"
start=$(date +%s%N)
"$lore" --data-dir "$data" serve --bind 127.0.0.1:0 > "$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
until grep -q "listening on" "$out"; do sleep 0.01; done
url="$(grep -o 'http://[^ ]*' "$out")"
until curl -sf "$url/health" > /dev/null; do sleep 0.01; done
echo "start-up to ready: $(( ($(date +%s%N) - start) / 1000000 )) ms wall ($(cat "$out"))"
echo "RSS after load: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
for mode in ${MODES:-hybrid bm25}; do
  echo "== POST /v1/search mode=$mode, 100 connections, ${secs}s"
  wrk -c100 -t2 -d"${secs}s" --timeout 10s -s bench/search.lua "$url" -- "$queries" scifact "$mode" | tail -6
  echo "RSS: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
done
