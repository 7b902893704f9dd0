# Shared by the bench scripts: the lore binary, the data dir, and a server started on a
# free loopback port (stopped on exit). Source it, then `start_server [serve flags...]`;
# it sets $url, $pid and $work (a temp dir holding the server's stdout and stderr log).
lore="${LORE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/lore-target}/debug/lore}"
data="${DATA:-$HOME/.local/share/lore}"
secs="${SECS:-30}"
queries=../shared/data/beir/scifact/queries.jsonl
work="$(mktemp -d)"

# An unlimited admin key for the load generator and `lore cache` (query.lua reads it too).
export LORE_API_KEY="${LORE_API_KEY:-$("$lore" --data-dir "$data" keys create --role admin --rate unlimited --name bench)}"

start_server() {
  "$lore" --data-dir "$data" serve --bind 127.0.0.1:0 "$@" > "$work/out" 2> "$work/log" &
  pid=$!
  trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
  until grep -q "listening on" "$work/out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; echo "lore serve did not start" >&2; exit 1; }
    sleep 0.01
  done
  url="$(grep -o 'http://[^ ]*' "$work/out")"
  until curl -sf "$url/health" > /dev/null; do sleep 0.01; done
}
