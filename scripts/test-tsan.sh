#!/usr/bin/env bash
# ThreadSanitizer on the C API: builds libsvq with --sanitize=thread into its own scratch folder, builds the
# C API test (Tests/CAPI/test_capi.c: 8 threads sharing one model, on the engine's worker pool) and the fork
# test against it with the same TSan runtime, and runs them. Any TSan report fails the run (halt_on_error).
#
# No suppressions: every thread the library runs is its own (WorkerPool.swift) or the caller's, and
# OpenBLAS and oneDNN (not instrumented) run on the calling thread only, so TSan sees every thread.
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build); the TSan build goes to $SVQ_SCRATCH_PATH/tsan
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SVQ_SCRATCH_PATH:-.build}"
tsan_scratch="$scratch/tsan"
source scripts/lib/test-models.sh   # the test models, made with the ordinary build

swift build -c release --sanitize=thread --scratch-path "$tsan_scratch" --product SVQRuntime
bin=$(swift build -c release --sanitize=thread --scratch-path "$tsan_scratch" --show-bin-path)
work="$tsan_scratch/tsan-test"
mkdir -p "$work"
# A library without TSan's hooks would pass silently. (grep reads all of nm's output: with -q it would stop at
# the first match, and nm's SIGPIPE would fail the pipeline under pipefail.)
if ! nm -D "$bin/libSVQRuntime.so" | grep " U __tsan_read" >/dev/null; then
    echo "tsan: $bin/libSVQRuntime.so is not instrumented" >&2
    exit 1
fi

# The Swift toolchain's clang and its shared TSan runtime (the one the library was built for; the static
# one would need libdispatch linked in).
clang=$(dirname "$(readlink -f "$(command -v swiftc)")")/clang
tsan_runtime=$(dirname "$("$clang" -print-file-name=libclang_rt.tsan-x86_64.so)")
for test in test_capi test_fork; do
    "$clang" -std=c99 -O1 -g -fsanitize=thread -shared-libsan -Wl,-rpath,"$tsan_runtime" -Iinclude \
        "Tests/CAPI/$test.c" -L"$bin" -lSVQRuntime -Wl,-rpath,"$bin" -lpthread -lm -o "$work/$test"
done

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
echo "== test_capi (TSan)"
"$work/test_capi" "$test_models/tiny.safetensors" "$test_models/tiny-no-prior.safetensors"
echo "== test_fork (TSan)"
# The children make threads after a fork of a threaded process, which TSan refuses by default.
TSAN_OPTIONS="$TSAN_OPTIONS die_after_fork=0" "$work/test_fork" "$test_models/tiny.safetensors"
echo "tsan: all passed"
