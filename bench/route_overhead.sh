#!/usr/bin/env bash
# What routing costs: a server routing over CLINC150's 150 intents (one route each, its 100
# training utterances as examples, the gate tuned on val.jsonl), then $N distinct
# validation questions through POST /v1/route, each twice: the first embeds the question
# (what retrieval would pay anyway), the second finds the embedding in the cache, so its
# `took_ms` is what routing adds to an answer. Also reports the start-up fit.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATA="$(mktemp -d)"
source bench/lib.sh
n="${N:-300}"
clinc=../shared/data/intents/clinc150
python3 - "$clinc" "$DATA/lore.toml" <<'PY'
import json, sys
clinc, out = sys.argv[1], sys.argv[2]
by = {}
for line in open(f"{clinc}/train.jsonl"):
    r = json.loads(line)
    by.setdefault(r["intent"], []).append(r["text"])
with open(out, "w") as f:
    f.write("[routing]\n")
    f.write(f"validation_file = {json.dumps(clinc + '/val.jsonl')}\n")
    f.write(f"out_of_scope_examples = {json.dumps(by.pop('oos'))}\n")
    for intent, texts in by.items():
        f.write(f"\n[[routes]]\nname = {json.dumps(intent)}\nexamples = {json.dumps(texts)}\n")
PY
# lore.toml is read from the data dir; the routes are relative to the repo (cwd).
sed -i "s|validation_file = \"|validation_file = \"$PWD/|" "$DATA/lore.toml"
t0=$(date +%s.%N)
start_server
t1=$(date +%s.%N)
echo "start-up with 150 routes (15,100 examples embedded and fitted, gate tuned on val): $(echo "$t1 - $t0" | bc) s"
python3 - "$url" "$LORE_API_KEY" "$clinc/val.jsonl" "$n" <<'PY'
import json, statistics, sys, time, urllib.request
url, key, val, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
qs = [json.loads(l)["text"] for l in open(val)][:: max(1, 3100 // n)][:n]
def route(q):
    req = urllib.request.Request(url + "/v1/route", json.dumps({"query": q}).encode(),
        {"content-type": "application/json", "authorization": "Bearer " + key})
    t = time.perf_counter()
    body = json.load(urllib.request.urlopen(req))
    return body, (time.perf_counter() - t) * 1e3
first = [route(q) for q in qs]
second = [route(q) for q in qs]
def p(xs, q): xs = sorted(xs); return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]
for name, runs in [("new question (embedding included)", first), ("embedding cached (what routing adds)", second)]:
    took = [b["took_ms"] for b, _ in runs]; rt = [r for _, r in runs]
    print(f"{name}: took_ms p50 {p(took, .5):.3f} p95 {p(took, .95):.3f}; HTTP round trip p50 {p(rt, .5):.2f} ms")
print("version", first[0][0]["decision"]["version"], "routes; questions", len(qs))
PY
