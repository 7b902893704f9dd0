#!/usr/bin/env bash
# Installs the system packages lore's build and tests need, if missing, from Debian's
# packages: cmake and libclang (llama.cpp is compiled from source by the llama-cpp-sys-2
# crate, whose bindings bindgen generates); chromium, curl, python3-venv and npm for the
# HTTP client tests (tests/http/run.sh: web UI in headless Chromium, OpenAI SDK);
# redis-server for the shared-cache tests (started by the tests on a free port).
set -euo pipefail

missing=()
command -v cmake >/dev/null || missing+=(cmake)
dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
command -v c++ >/dev/null || missing+=(g++)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v curl >/dev/null || missing+=(curl)
command -v npm >/dev/null || missing+=(npm)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present"
  exit 0
fi
echo "installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
