#!/usr/bin/env bash
# The Python package: builds libsvq, makes the test models, sets up .venv (numpy, pytest, the package
# installed editable) and runs pytest on bindings/python/tests. Exits non-zero on any failure.
#
# Test models: the official tiny test checkpoint with and without its prior (scripts/lib/test-models.sh).
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}

swift build -c release --scratch-path "$scratch" --product SVQRuntime
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
ln -sf libSVQRuntime.so "$bin/libsvq.so"
source scripts/lib/test-models.sh

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet numpy pytest
.venv/bin/python -m pip install --quiet -e bindings/python

SVQ_LIBRARY="$bin/libsvq.so" SVQ_TEST_MODEL="$test_models/tiny.safetensors" \
SVQ_TEST_MODEL_NO_PRIOR="$test_models/tiny-no-prior.safetensors" \
    .venv/bin/python -m pytest -q bindings/python/tests "$@"
