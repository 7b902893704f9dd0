#!/usr/bin/env bash
# HTTP client tests against a real `lore serve`: the official OpenAI Python SDK, a
# schemathesis fuzzing pass over /openapi.json (no 5xx), and the web UI in headless
# Chromium (screenshot saved as an artifact). Called by `make test` after `cargo test`
# built the binary. Set-up (venv, npm package) is cached under ~/.cache/lore.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
lore="${LORE_BIN:-$target/debug/lore}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/lore"
artifacts="${ARTIFACTS:-$target/test-artifacts}"
docs="$root/../shared/data/docs"
mkdir -p "$artifacts" "$cache"

# Python clients, pinned.
venv="$cache/venv-http"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi
# playwright-core, pinned (drives Debian's chromium; no browser download).
node_dir="$cache/node"
if ! cmp -s "$here/package.json" "$node_dir/package.json" || [ ! -d "$node_dir/node_modules/playwright-core" ]; then
  mkdir -p "$node_dir"
  cp "$here/package.json" "$node_dir/package.json"
  (cd "$node_dir" && npm install --no-audit --no-fund --silent)
fi
[ -x /usr/bin/chromium ] || { echo "chromium missing: run scripts/setup-system.sh" >&2; exit 1; }

data="$(mktemp -d)"
log="$artifacts/serve.log"
"$lore" --data-dir "$data" serve --bind 127.0.0.1:0 > "$data/stdout" 2> "$log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 300); do
  grep -q "listening on" "$data/stdout" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
url="$(grep -o 'http://[^ ]*' "$data/stdout")"
echo "lore serve at $url"
# An admin key made beside the running server (it sees new keys on the next request).
key="$("$lore" --data-dir "$data" keys create --role admin --name http-tests --rate unlimited)"
auth="Authorization: Bearer $key"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/collections")" = 401 ]

curl -sf -X POST "$url/v1/collections" -H "$auth" -H 'content-type: application/json' -d '{"name":"kb"}' > /dev/null
curl -sf -X POST "$url/v1/collections/kb/documents?wait_ms=60000" -H "$auth" \
  -F "file=@$docs/rust-book-ch08-01-vectors.md" -F "file=@$docs/httpd-bind.html" \
  -F "file=@$docs/rust-book-ch04-01-what-is-ownership.md" -F domain=engineering \
  | grep -q '"status":"done"'

"$venv/bin/python" "$here/openai_sdk_test.py" "$url" kb "$key"

# ES modules resolve packages from the script's folder up, not NODE_PATH: link the cached
# node_modules beside the script (ignored by git).
ln -sfn "$node_dir/node_modules" "$here/node_modules"
node "$here/ui_test.mjs" "$url" "$docs/rust-book-ch08-03-hash-maps.md" "$artifacts/web-ui.png" "$key"
node "$here/meetings_ui_test.mjs" "$url" "$root/../shared/data/meetings/ES2004a.json" "$artifacts/web-ui-meetings.png" "$key"

# Fuzz every operation from the spec; any 5xx fails the run.
(cd "$data" && "$venv/bin/schemathesis" run "$url/openapi.json" --checks not_a_server_error -H "$auth" \
  --max-examples "${FUZZ_EXAMPLES:-25}" --request-timeout 60 --generation-deterministic \
  --report junit --report-dir "$artifacts" --suppress-health-check all)

kill -TERM "$pid"
wait "$pid"
echo "lore serve stopped cleanly on SIGTERM"
trap - EXIT
rm -rf "$data"
