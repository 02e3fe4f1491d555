#!/usr/bin/env bash
# Build llama.cpp's llama-server from the sources vendored in the pinned llama-cpp-python
# sdist (no download at build time beyond the sdist from the package index) and start it on
# the verified default GGUF with N parallel slots and continuous batching.
#
#   bash bench/serve_llama.sh build            # once: sdist -> build/llama-server/bin/llama-server
#   bash bench/serve_llama.sh start [PORT] [SLOTS]   # default 8081, 4 slots; runs in the foreground
#
# Then point the app at it:
#   ASSISTANT_GENERATOR=openai ASSISTANT_OPENAI_BASE_URL=http://127.0.0.1:8081/v1 python app.py
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${LLAMA_SERVER_DIR:-$ROOT/build/llama-server}"
VERSION="$(sed -n 's/^llama-cpp-python==\([0-9.]*\).*/\1/p' "$ROOT/requirements.txt")"
# The same CPU flags as the in-process build (requirements.txt): no AMX, which this kind of
# machine advertises but whose tiles the kernel may not grant.
FLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"

build() {
  mkdir -p "$WORK"
  if [ ! -d "$WORK/src" ]; then
    python -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WORK/sdist"
    mkdir -p "$WORK/src"
    tar -xzf "$WORK"/sdist/llama_cpp_python-"$VERSION".tar.gz -C "$WORK/src" --strip-components=1
  fi
  cmake -S "$WORK/src/vendor/llama.cpp" -B "$WORK/cmake" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF \
    -DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" >/dev/null
  cmake --build "$WORK/cmake" --target llama-server -j "$(nproc)"
  echo "built: $WORK/cmake/bin/llama-server (llama-cpp-python $VERSION sources)"
}

start() {
  local port="${1:-8081}" slots="${2:-4}" model
  model="$(python -c 'from assistant.engine import Engine; from assistant.weights import resolve; e = Engine(); print(resolve(e.settings.generator_model, e.models))')"
  python -m assistant models verify >&2
  # Each slot gets the context one in-process answer has (2,048 tokens).
  exec "$WORK/cmake/bin/llama-server" --model "$model" --host 127.0.0.1 --port "$port" \
    --parallel "$slots" --cont-batching --ctx-size $((slots * 2048)) --threads "$(nproc)" --no-webui
}

case "${1:-}" in
  build) build ;;
  start) shift; start "$@" ;;
  *) echo "usage: bash bench/serve_llama.sh build | start [PORT] [SLOTS]" >&2; exit 2 ;;
esac
