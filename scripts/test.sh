#!/usr/bin/env bash
# Every test: install what is missing, build in release mode (the numerical tests are slow in debug), run
# the Swift test suites, then the C/C++ programs against the installed library (test-native.sh) and the
# Python package (test-python.sh), then ONNX Runtime on our exported graphs (test-onnx.sh), then a short run of
# the benchmark harness (scripts/bench.sh --quick: it fails if ONNX Runtime and we disagree on the bundled
# model's outputs; its timings are not judged here), then the C API test under ASan + UBSan
# (test-sanitizers.sh) and a minute of each fuzzer (fuzz.sh). Ends with one plain summary line per part.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
swift build -c release --build-tests || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# All suites are XCTest; skip the empty Swift Testing pass so the summary below is the last word.
swift test -c release --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
swift_status=${PIPESTATUS[0]}
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1)

bash scripts/test-native.sh
native_status=$?
bash scripts/test-python.sh
python_status=$?
bash scripts/test-onnx.sh
onnx_status=$?
bash scripts/bench.sh --quick --budget 0.2 --out "${SVQ_SCRATCH_PATH:-.build}/bench-smoke"
bench_status=$?
bash scripts/test-sanitizers.sh
sanitizers_status=$?
bash scripts/fuzz.sh 60
fuzz_status=$?

if [ -n "$summary" ]; then
    total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
    failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
    echo "swift: $((total - failed)) passed, $failed failed"
else
    echo "swift: no summary (status $swift_status)"
fi
echo "native (C, C++): $([ $native_status -eq 0 ] && echo passed || echo FAILED)"
echo "python: $([ $python_status -eq 0 ] && echo passed || echo FAILED)"
echo "onnx (ONNX Runtime vs ours): $([ $onnx_status -eq 0 ] && echo passed || echo FAILED)"
echo "benchmark harness (quick): $([ $bench_status -eq 0 ] && echo passed || echo FAILED)"
echo "C API test under ASan + UBSan: $([ $sanitizers_status -eq 0 ] && echo passed || echo FAILED)"
echo "fuzzing (a minute each): $([ $fuzz_status -eq 0 ] && echo passed || echo FAILED)"
[ "$swift_status" -eq 0 ] && [ $native_status -eq 0 ] && [ $python_status -eq 0 ] && [ $onnx_status -eq 0 ] \
    && [ $bench_status -eq 0 ] && [ $sanitizers_status -eq 0 ] && [ $fuzz_status -eq 0 ]
