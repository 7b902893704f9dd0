#!/usr/bin/env bash
# Builds llama.cpp's OpenAI-compatible server (`llama-server`) for the tests of lore's openai
# generator, once, into the tools dir.
#
#   scripts/setup-llama-server.sh [TOOLS_DIR]
#
# TOOLS_DIR defaults to $LORE_TOOLS_DIR, else ${XDG_CACHE_HOME:-~/.cache}/lore/tools. The
# sources are llama.cpp as vendored in the llama-cpp-python sdist on the Python package index
# (pinned, sha256 checked): this machine cannot reach GitHub, and the llama-cpp-sys-2 crate
# ships llama.cpp without the server's sources. Needs cmake and a C++ compiler.
set -euo pipefail

dir="${1:-${LORE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lore/tools}}"
py="${PYTHON:-python3}"
SDIST="llama-cpp-python==0.3.36"
SDIST_SHA256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
stamp="$dir/llama-server.version"

if [ -x "$dir/llama-server" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SDIST" ]; then
  echo "llama-server up to date in $dir"
  exit 0
fi

command -v cmake >/dev/null || { echo "cmake is missing (scripts/setup-system.sh installs it)" >&2; exit 1; }
echo "building llama-server from $SDIST into $dir (a few minutes)"
mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download -q --no-deps --no-binary=:all: -d "$tmp" "$SDIST"
tarball="$(ls "$tmp"/llama_cpp_python-*.tar.gz)"
[ "$(sha256sum "$tarball" | cut -d' ' -f1)" = "$SDIST_SHA256" ] || { echo "sha256 mismatch for $tarball" >&2; exit 1; }
tar xzf "$tarball" -C "$tmp"
src="$(ls -d "$tmp"/llama_cpp_python-*/vendor/llama.cpp)"
cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$tmp/cmake.log" 2>&1 \
  || { tail -30 "$tmp/cmake.log" >&2; exit 1; }
cmake --build "$tmp/build" --target llama-server -j "$(nproc)" >"$tmp/build.log" 2>&1 \
  || { tail -30 "$tmp/build.log" >&2; exit 1; }
cp "$tmp/build/bin/llama-server" "$dir/llama-server.tmp"
mv "$dir/llama-server.tmp" "$dir/llama-server"
echo "$SDIST" >"$stamp"
echo "llama-server installed in $dir"
