#!/usr/bin/env bash
# Cost of the security and observability layers on cached answers: the same exact-hit load
# (POST /v1/answer, wrk, $CONNS connections, the first $QUESTIONS SciFact queries, warmed)
# against a server with everything on (API key checked, per-key and per-IP rate limits
# counted but never reached, /metrics recording, JSON access log at info written to a
# file, query log) and one with everything off (--no-auth, limits off, metrics off, log at
# warn, no query log), alternated $ROUNDS times in one run.
# Needs the SciFact collection in $DATA (`lore eval beir ../shared/data/beir/scifact`).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
rounds="${ROUNDS:-2}"
conns="${CONNS:-100}"
export QUERY_LIMIT="${QUESTIONS:-100}"
python3 -c 'import json,sys; [print(json.loads(l)["text"]) for i,l in enumerate(open(sys.argv[1])) if i < int(sys.argv[2])]' \
  "$queries" "$QUERY_LIMIT" > "$work/questions.txt"
cat > "$work/on.toml" <<'TOML'
[rate_limit]
per_key = "10000000/min"
per_ip = "10000000/min"
[log]
level = "info"
TOML
cat > "$work/off.toml" <<'TOML'
[auth]
enabled = false
[rate_limit]
enabled = false
[metrics]
enabled = false
[analytics]
enabled = false
[log]
level = "warn"
TOML
# The bench key is unlimited; the "on" server must count a quota: give it one.
onkey="$("$lore" --data-dir "$data" keys create --role admin --rate 10000000/min --name bench-on)"
run() { # $1 = on|off
  LORE_CONFIG="$work/$1.toml" start_server --default-collection scifact
  LORE_API_KEY="$onkey" "$lore" cache warm "$work/questions.txt" --server "$url" --batch 20 > /dev/null 2>&1
  local out
  out="$(LORE_API_KEY="$onkey" wrk -c"$conns" -t2 -d"${secs}s" --timeout 10s -s bench/query.lua "$url" -- \
    "$queries" scifact hybrid /v1/answer)"
  local rps
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  echo "$1: $rps req/s, $(echo "$out" | grep -E 'Latency ' | awk '{print "latency mean " $2 " stdev " $3 " max " $4}'), $(echo "$out" | grep 'non-2xx')"
  echo "$1 $rps" >> "$work/results"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
for r in $(seq 1 "$rounds"); do
  echo "== round $r (${secs}s each, $conns connections, $QUERY_LIMIT warmed questions)"
  run off
  run on
done
awk '{s[$1]+=$2; n[$1]++} END {off=s["off"]/n["off"]; on=s["on"]/n["on"];
  printf "mean: off %.0f req/s, on %.0f req/s: overhead %.1f%% of throughput\n", off, on, 100*(off-on)/off}' "$work/results"
"$lore" --data-dir "$data" keys revoke "${onkey:8:12}" > /dev/null
