#!/usr/bin/env bash
# Start-up time, RSS and a wrk load test of POST /v1/search (SciFact queries, 100
# connections, 30 s per mode) against `lore serve` on loopback.
# Needs the SciFact collection in $DATA (`lore eval beir ../shared/data/beir/scifact`
# ingests it as `scifact`) and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
start=$(date +%s%N)
start_server
echo "start-up to ready: $(( ($(date +%s%N) - start) / 1000000 )) ms wall ($(cat "$work/out"))"
echo "RSS after load: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
for mode in ${MODES:-hybrid bm25}; do
  echo "== POST /v1/search mode=$mode, 100 connections, ${secs}s"
  wrk -c100 -t2 -d"${secs}s" --timeout 10s -s bench/query.lua "$url" -- "$queries" scifact "$mode" | tail -6
  echo "RSS: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
done
