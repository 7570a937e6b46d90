#!/usr/bin/env bash
# The Python package: builds libsvq, makes the test models, sets up .venv (numpy, pytest, the package
# installed editable) and runs pytest on bindings/python/tests. Exits non-zero on any failure.
#
# Test models: the official tiny test checkpoint (Tests/SVQModelsTests/Fixtures/nlotm-tiny) converted with
# `svq import-official`, with and without its prior.
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}
work="$scratch/python-test"
mkdir -p "$work"
work=$(cd "$work" && pwd)

swift build -c release --scratch-path "$scratch" --product SVQRuntime
swift build -c release --scratch-path "$scratch" --product svq
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
ln -sf libSVQRuntime.so "$bin/libsvq.so"

fixture=Tests/SVQModelsTests/Fixtures/nlotm-tiny
"$bin/svq" import-official --svq "$fixture/svq_state_dict.safetensors" --prior "$fixture/prior_state_dict.safetensors" \
    --config "$fixture/config.json" -o "$work/tiny.safetensors"
"$bin/svq" import-official --svq "$fixture/svq_state_dict.safetensors" \
    --config "$fixture/config.json" -o "$work/tiny-no-prior.safetensors"

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet numpy pytest
.venv/bin/python -m pip install --quiet -e bindings/python

SVQ_LIBRARY="$bin/libsvq.so" SVQ_TEST_MODEL="$work/tiny.safetensors" \
SVQ_TEST_MODEL_NO_PRIOR="$work/tiny-no-prior.safetensors" \
    .venv/bin/python -m pytest -q bindings/python/tests "$@"
