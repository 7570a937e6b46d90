#!/usr/bin/env bash
# The C ABI from C and C++: installs libsvq into a scratch prefix (scripts/install.sh), builds the C API
# tests (Tests/CAPI: test_capi.c, test_fork.c), the C example and the C++ example against it with pkg-config, and runs them.
# Exits non-zero on any failure.
#
# Models: the C API test uses the official tiny test checkpoint with and without its prior (scripts/lib/
# test-models.sh; tiny, so its 8-thread check is quick). The examples use models/sprites.safetensors, or
# that tiny model until the default model exists.
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}
work="$scratch/native-test"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

bash scripts/install.sh "$work/prefix"
# pkg-config as a C user runs it once svq.pc is installed (not exported: SwiftPM reads PKG_CONFIG_PATH too).
pc() { PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config "$@"; }

source scripts/lib/test-models.sh
model=models/sprites.safetensors
[ -f "$model" ] || model="$test_models/tiny.safetensors"

warnings=(-Wall -Wextra -Werror -pedantic -O2)
# shellcheck disable=SC2046  # pkg-config's output is meant to be split
cc -std=c99 "${warnings[@]}" Tests/CAPI/test_capi.c $(pc --cflags --libs svq) -lpthread -lm -o "$work/test_capi"
# shellcheck disable=SC2046
cc -std=c99 "${warnings[@]}" Tests/CAPI/test_fork.c $(pc --cflags --libs svq) -o "$work/test_fork"
# shellcheck disable=SC2046
cc -std=c99 "${warnings[@]}" examples/c/encode_decode.c $(pc --cflags --libs svq libpng) -o "$work/encode_decode"
# shellcheck disable=SC2046
c++ -std=c++17 "${warnings[@]}" examples/cpp/main.cpp $(pc --cflags --libs svq) -o "$work/cpp_example"

echo "== test_capi"
"$work/test_capi" "$test_models/tiny.safetensors" "$test_models/tiny-no-prior.safetensors"
echo "== test_fork"
"$work/test_fork" "$test_models/tiny.safetensors"
echo "== encode_decode ($model)"
"$work/encode_decode" "$model" examples/c/input.png "$work/out"
test -s "$work/out-recon.png"
echo "== cpp_example ($model)"
"$work/cpp_example" "$model"
echo "native: all passed"
