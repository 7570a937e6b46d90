#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the three ways untrusted bytes enter the library,
# each harness for SECONDS (default 60):
#   safetensors  any bytes as a safetensors file, read from memory and from a file (Tests/Fuzz/SafeTensorsFuzz.swift)
#   model-load   any bytes to svq_model_load_memory, then calls on what loads (Tests/Fuzz/ModelLoadFuzz.swift)
#   codec        fuzzed encode / decode / prior / codebook calls on the tiny test model (Tests/Fuzz/CodecFuzz.swift)
# The library is built instrumented (scripts/lib/sanitized-build.sh), so libFuzzer is guided by coverage of
# SafeTensors, SVQ, SVQModels, SVQEngine and the runtime, not just of the harnesses. Each run starts from the
# committed seeds (Tests/Fuzz/corpus/NAME: small files, and the tiny test model, 1.2 MB, for model-load) plus
# what earlier runs found (SCRATCH/fuzz/corpus/NAME). The codec harness calls that same tiny model, so a
# seed left behind by a change of the weights format fails loudly there instead of quietly weakening model-load
# (remake it with scripts/lib/test-models.sh).
# Exits non-zero if any harness crashes, fails a check or times out; the reproducer is left in
# SCRATCH/fuzz/crashes/. To rerun one: SVQ_FUZZ_MODEL=Tests/Fuzz/corpus/model-load/tiny.safetensors
# SCRATCH/fuzz/fuzz-NAME FILE.
#
# usage: scripts/fuzz.sh [SECONDS] [NAME ...]
# env:   SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(safetensors model-load codec)
scratch=${SVQ_SCRATCH_PATH:-.build}

source scripts/lib/sanitized-build.sh
work="$scratch/fuzz"
mkdir -p "$work/crashes"
work=$(cd "$work" && pwd)
export SVQ_FUZZ_MODEL="$PWD/Tests/Fuzz/corpus/model-load/tiny.safetensors"

# build NAME "SOURCES" LINK...: the harness (files in Tests/Fuzz) and libFuzzer's main, linked with the instrumented
# code: the C API harnesses with libSVQRuntime.so, the safetensors one with the SafeTensors module's objects
# (the library exports only the C API). Output only on failure: gold warns about each ASan helper symbol.
build() {
    local name=$1 out="$work/fuzz-$1" log="$work/build-$1.log" sources=()
    for file in $2; do sources+=("Tests/Fuzz/$file"); done
    shift 2
    if ! swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "Fuzz${name//-/}" \
        -I "$sanitized_bin/Modules" -Xcc -fmodule-map-file=include/module.modulemap \
        "${sources[@]}" "$@" -o "$out" >"$log" 2>&1; then
        cat "$log" >&2
        return 1
    fi
}
c_api=(-L "$sanitized_bin" -lSVQRuntime -Xlinker -rpath -Xlinker "$sanitized_bin")
build safetensors "SafeTensorsFuzz.swift Require.swift" "$sanitized_bin"/SafeTensors.build/*.o
build model-load "ModelLoadFuzz.swift CAPIHarness.swift Require.swift" "${c_api[@]}"
build codec "CodecFuzz.swift CAPIHarness.swift FuzzInput.swift Require.swift" "${c_api[@]}"

declare -A seeds=(
    [safetensors]="Tests/Fuzz/corpus/safetensors"
    [model-load]="Tests/Fuzz/corpus/model-load Tests/Fuzz/corpus/safetensors"
    [codec]="Tests/Fuzz/corpus/codec"
)
declare -A options=(
    [safetensors]="-max_len=4096 -dict=Tests/Fuzz/safetensors.dict"
    [model-load]="-max_len=1400000 -len_control=0 -dict=Tests/Fuzz/safetensors.dict"   # the seed is 1.2 MB
    [codec]="-max_len=4096"
)

# No Swift backtracer: it would read the stack under AddressSanitizer and bury the real report.
export SWIFT_BACKTRACE=enable=no
failed=0
summary=()
for name in "${harnesses[@]}"; do
    mkdir -p "$work/corpus/$name"
    log="$work/$name.log"
    echo "== fuzz $name for ${seconds}s"
    status=0
    # shellcheck disable=SC2086  # the seed folders and options are meant to be split
    "$work/fuzz-$name" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$work/crashes/$name-" ${options[$name]} "$work/corpus/$name" ${seeds[$name]} \
        >"$log" 2>&1 || status=$?
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log" | tail -n 1)
    rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log" | tail -n 1)
    if [ "$status" -eq 0 ]; then
        summary+=("fuzz $name: ${runs:-?} executions (${rate:-?}/s), no crash")
    else
        failed=1
        grep -E "ERROR|SUMMARY|Fatal error|Test unit written" "$log" | head -n 20 >&2 || tail -n 40 "$log" >&2
        summary+=("fuzz $name: FAILED after ${runs:-?} executions (status $status); log $log, reproducer in $work/crashes/")
    fi
done
printf '%s\n' "${summary[@]}"
exit $failed
