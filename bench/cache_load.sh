#!/usr/bin/env bash
# Exact-hit answers over HTTP: warms the answer cache with the 300 SciFact queries
# (`lore cache warm`), then loads POST /v1/answer with them in turn (every request an
# exact hit) with wrk at 100 connections, and reads the server-side latency of each request
# from the server's own log (the access line's `latency_ms`, from request received to
# response headers).
# Needs the SciFact collection in $DATA (`lore eval beir ../shared/data/beir/scifact`
# ingests it as `scifact`) and wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
start_server --default-collection scifact
python3 -c 'import json,sys; [print(json.loads(l)["text"]) for l in open(sys.argv[1])]' \
  "$queries" > "$work/questions.txt"
echo "== warm-up: 300 questions"
"$lore" cache warm "$work/questions.txt" --server "$url" --batch 20 2>/dev/null
server_ms() { # p50/p95/p99 of the server-side ms of /v1/answer log lines from line $1 on
  tail -n +"$1" "$work/log" | grep '"route":"/v1/answer"' | grep -o '"latency_ms":[0-9.]*' | cut -d: -f2 |
    sort -g | awk '{a[NR]=$1} END {if (NR) printf "server-side (%d requests): p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n", NR, a[int(NR*0.50)+1], a[int(NR*0.95)], a[int(NR*0.99)]}'
}
for conns in 1 100; do
  from=$(( $(wc -l < "$work/log") + 1 ))
  threads=$(( conns < 2 ? 1 : 2 ))
  echo "== POST /v1/answer, all exact hits, $conns connection(s), ${secs}s"
  wrk -c"$conns" -t"$threads" -d"${secs}s" --timeout 10s -s bench/query.lua "$url" -- \
    "$queries" scifact hybrid /v1/answer | tail -6
  server_ms "$from"
done
echo "== cache stats"
"$lore" cache stats --server "$url"
echo "RSS: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
