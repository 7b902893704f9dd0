#!/usr/bin/env bash
# Installs the system packages lore's build needs, if missing: cmake and libclang (llama.cpp
# is compiled from source by the llama-cpp-sys-2 crate, whose bindings bindgen generates),
# from Debian's packages.
set -euo pipefail

missing=()
command -v cmake >/dev/null || missing+=(cmake)
dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
command -v c++ >/dev/null || missing+=(g++)
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
echo "installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
