#!/usr/bin/env bash
# The Python package as a user gets it: builds the wheel (scripts/build-wheel.sh), installs it into a fresh
# virtual environment with numpy and pytest, makes the test models and runs pytest on bindings/python/tests
# against the installed package: no SVQ_LIBRARY, no PYTHONPATH, and SVQ_TEST_INSTALLED_WHEEL=1 so the tests
# check that the wheel's own library and Swift runtime are the ones loaded. Exits non-zero on any failure.
#
# Test models: the official tiny test checkpoint with and without its prior (scripts/lib/test-models.sh).
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}
work="$scratch/python-test"
rm -rf "$work"
mkdir -p "$work"

wheel=$(bash scripts/build-wheel.sh "$work/dist")
source scripts/lib/test-models.sh

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$wheel" pytest

SVQ_TEST_INSTALLED_WHEEL=1 SVQ_TEST_MODEL="$test_models/tiny.safetensors" \
SVQ_TEST_MODEL_NO_PRIOR="$test_models/tiny-no-prior.safetensors" \
    env -u SVQ_LIBRARY -u PYTHONPATH "$work/venv/bin/python" -m pytest -q -p no:cacheprovider \
    bindings/python/tests "$@"
