#!/usr/bin/env bash
# Build llama.cpp's own HTTP server (`llama-server`: parallel slots, continuous batching,
# /props, /slots, /metrics) once, from the llama.cpp that ships inside the llama-cpp-python
# sdist the install already uses, with the same AMX-safe CPU flags; cache it beside the
# wheel (keyed by version and flags) and print where it is. The tests and benchmarks run it
# against the embedded model; `make run` does not need it.
#
# Offline apart from PyPI (the sdist): no curl, no OpenSSL, no web UI download.
set -euo pipefail
cd "$(dirname "$0")/.."

# The version and flags scripts/install.sh builds the wheel with: one definition.
LLAMA_VERSION=$(sed -n 's/^LLAMA_VERSION=//p' scripts/install.sh)
LLAMA_CMAKE_ARGS=$(sed -n 's/^LLAMA_CMAKE_ARGS="\(.*\)"$/\1/p' scripts/install.sh)
SERVER_CMAKE_ARGS="-DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/hrbatch"
key=$(printf '%s' "$LLAMA_VERSION $LLAMA_CMAKE_ARGS $SERVER_CMAKE_ARGS" | sha256sum | cut -c1-12)
target="$cache/llama-server-$key/llama-server"

if [ ! -x "$target" ]; then
  PYTHON=${PYTHON:-python3}
  [ -x .venv/bin/python ] && PYTHON=.venv/bin/python
  sdist_dir="$cache/sdist"
  sdist="$sdist_dir/llama_cpp_python-$LLAMA_VERSION.tar.gz"
  if [ ! -f "$sdist" ]; then
    echo "==> Downloading the llama-cpp-python $LLAMA_VERSION sdist (llama.cpp's source)" >&2
    mkdir -p "$sdist_dir"
    "$PYTHON" -m pip --disable-pip-version-check -q download --no-deps --no-binary :all: \
      -d "$sdist_dir" "llama-cpp-python==$LLAMA_VERSION" >&2
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "==> Building llama-server from llama.cpp in llama-cpp-python $LLAMA_VERSION (AMX-safe; ~10 minutes once)" >&2
  tar -xzf "$sdist" -C "$work" "llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp"
  src="$work/llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp"
  # shellcheck disable=SC2086 # the flags are words
  cmake -S "$src" -B "$work/build" $LLAMA_CMAKE_ARGS $SERVER_CMAKE_ARGS >"$work/configure.log" 2>&1 \
    || { tail -40 "$work/configure.log" >&2; exit 1; }
  cmake --build "$work/build" --target llama-server -j"$(nproc)" >"$work/build.log" 2>&1 \
    || { tail -60 "$work/build.log" >&2; exit 1; }
  mkdir -p "$(dirname "$target")"
  cp "$work/build/bin/llama-server" "$target.tmp"
  mv "$target.tmp" "$target"
fi
echo "$target"
