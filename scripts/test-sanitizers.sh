#!/usr/bin/env bash
# The C API test (Tests/CAPI/test_capi.c) under AddressSanitizer and UndefinedBehaviorSanitizer: the test is
# compiled with -fsanitize=address,undefined and runs against libSVQRuntime.so built with AddressSanitizer
# (scripts/lib/sanitized-build.sh), on the same tiny test models as scripts/test-native.sh. Any memory error,
# leak or undefined behaviour stops the run with a report and a non-zero exit.
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}

source scripts/lib/sanitized-build.sh
source scripts/lib/test-models.sh
work="$scratch/sanitizers-test"
mkdir -p "$work"

# (Its output is shown only on failure: gold warns about each of ASan's local helper symbols when linking.)
if ! "$sanitizer_cc" -std=c99 -Wall -Wextra -Werror -pedantic -O1 -g -fno-omit-frame-pointer \
    -fsanitize=address,undefined -fno-sanitize-recover=all -I include Tests/CAPI/test_capi.c \
    -L "$sanitized_bin" -lSVQRuntime -Wl,-rpath,"$sanitized_bin" -lpthread -lm -o "$work/test_capi" \
    >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    exit 1
fi

echo "== test_capi (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$work/test_capi" "$test_models/tiny.safetensors" "$test_models/tiny-no-prior.safetensors"
echo "sanitizers: test_capi passed"
