#!/usr/bin/env bash
# The issue-6 load test: 100 concurrent clients for $SECS s (default 60) mixing searches,
# answers (cache hits and misses) and uploads (bench/mixed.lua) against a server with
# auth, rate limits, metrics, JSON logs and the query log on. Reports responses per kind
# and status, RSS after warm-up, after the run and after a second run, and checks that
# every accepted upload was ingested.
# Needs the SciFact collection in $DATA (`lore eval beir ../shared/data/beir/scifact`).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${SECS:-60}"
source bench/lib.sh
warmed="${QUESTIONS:-100}"
cat > "$work/load.toml" <<'TOML'
[rate_limit]
# One machine sends everything from 127.0.0.1: the per-IP quota would refuse most of it.
per_ip = "unlimited"
# 2 cores generate ~2 extractive answers/s: a short queue answers the overflow with 429
# (intended) instead of letting 100 clients wait past their 30 s timeout.
max_queued_generations = 16
TOML
LORE_CONFIG="$work/load.toml" start_server --default-collection scifact
auth="Authorization: Bearer $LORE_API_KEY"
curl -sf -X DELETE "$url/v1/collections/loadtest" -H "$auth" > /dev/null || true
curl -sf -X POST "$url/v1/collections" -H "$auth" -H 'content-type: application/json' \
  -d '{"name":"loadtest"}' > /dev/null
python3 -c 'import json,sys; [print(json.loads(l)["text"]) for i,l in enumerate(open(sys.argv[1])) if i < int(sys.argv[2])]' \
  "$queries" "$warmed" > "$work/questions.txt"
"$lore" cache warm "$work/questions.txt" --server "$url" --batch 20 > /dev/null 2>&1
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2/1024}' /proc/$pid/status; }
echo "RSS after warm-up: $(rss)"
for run in 1 2; do
  echo "== run $run: 100 connections, ${secs}s"
  wrk -c100 -t2 -d"${secs}s" --timeout 30s -s bench/mixed.lua "$url" -- "$queries" "$warmed" \
    | tee "$work/run$run" | tail -18
  echo "RSS after run $run: $(rss)"
done
# Every upload answered 200/202 must end up stored once the jobs drain.
for _ in $(seq 1 600); do
  docs="$(curl -sf "$url/v1/collections/loadtest" -H "$auth" | python3 -c 'import json,sys; print(json.load(sys.stdin)["documents"])')"
  [ "$docs" = "${last:-}" ] && break
  last="$docs"; sleep 5
done
accepted="$(cat "$work"/run* | awk '/^upload:ok/ {s+=$2} END {print s+0}')"
echo "uploads accepted: $accepted; documents stored in loadtest: $docs"
curl -sf "$url/metrics" -H "$auth" | grep -E '^lore_(rate_limited_total|ingest_documents_total|http_requests_total\{.*status="5)' || true
echo "RSS at the end: $(rss)"
