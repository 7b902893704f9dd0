#!/usr/bin/env bash
# POST /v1/memory/query at 100 connections for $SECS s (default 60) with Zipf-repeated
# QMSum queries against `lore serve` on loopback.
# Needs the meetings in $DATA: `lore --data-dir $DATA memory bench ../shared/data/meetings
# --copies 5` ingests the 20 QMSum meetings plus 5 copies of each (10K+ episodic memories).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-60}"
source bench/lib.sh
qfile="$work/queries.txt"
python3 - "$qfile" <<'PY'
import glob, json, sys
out = []
for f in sorted(glob.glob("../shared/data/meetings/*.json")):
    for q in json.load(open(f))["specific_query_list"]:
        out.append(q["query"].replace('\\', ' ').replace('"', "'"))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
cat > "$work/load.toml" <<'TOML'
[rate_limit]
# One machine sends everything from 127.0.0.1: the per-IP quota would refuse most of it.
per_ip = "unlimited"
TOML
LORE_CONFIG="$work/load.toml" start_server
echo "memories: $(curl -sf -H "Authorization: Bearer $LORE_API_KEY" "$url/v1/memory/stats")"
echo "== POST /v1/memory/query, 100 connections, ${SECS}s, Zipf-repeated queries ($(wc -l < "$qfile") distinct)"
wrk -c100 -t2 -d"${SECS}s" --timeout 10s --latency -s bench/memory_query.lua "$url" -- "$qfile" | grep -v "^  [0-9]*%" | tail -12
echo "RSS: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$pid/status)"
