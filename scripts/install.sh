#!/usr/bin/env bash
# Install hrbatch and everything it needs into .venv (idempotent, safe to re-run).
#
# llama-cpp-python compiles from source. Some CPUs advertise AMX but fault on it, so a
# default (native) build dies with SIGILL on the first inference: build it once with
# portable flags into a wheel cache keyed by those flags, and install from there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip wheel

flags_hash=$(printf '%s' "$LLAMA_VERSION $LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/hrbatch/wheels-$flags_hash"
if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  echo "==> Building llama-cpp-python $LLAMA_VERSION (AMX-safe; takes ~5-7 minutes once)"
  mkdir -p "$wheels"
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "${PIP[@]}" wheel --no-deps --no-cache-dir \
    --no-binary llama-cpp-python -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"
fi

echo "==> Installing hrbatch and its dependencies"
"${PIP[@]}" install --only-binary llama-cpp-python --find-links "$wheels" \
  "llama-cpp-python==$LLAMA_VERSION"
"${PIP[@]}" install --find-links "$wheels" -e ".[test]"
echo "==> Installed. Start with: .venv/bin/python manage.py serve"
