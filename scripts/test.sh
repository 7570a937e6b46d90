#!/usr/bin/env bash
# Every test: install what is missing, build in release mode (the numerical tests are slow in debug), run
# the Swift test suites, then each part below, whatever the earlier ones gave:
#   native      the C/C++ programs against the installed library (test-native.sh)
#   python      the wheel, installed in a fresh virtualenv, under pytest (test-python.sh)
#   onnx        ONNX Runtime on our exported graphs against our outputs (test-onnx.sh)
#   tsan        the C API tests under ThreadSanitizer (test-tsan.sh)
#   sanitizers  the C API test under AddressSanitizer + UndefinedBehaviorSanitizer (test-sanitizers.sh)
#   fuzz        each libFuzzer harness for a minute (fuzz.sh)
#   bench       a short run of the benchmark harness: it fails if ONNX Runtime and we disagree on the
#               bundled model's outputs (its timings are not judged here)
#   quick start the README's quick start (run.sh: builds what the README's snippets use, runs the Python one)
# Ends with one plain summary line per part, and each part's minutes.
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

results=()
failed=0
part() {   # part NAME COMMAND...: runs the command, records "NAME: passed|FAILED (M min)"
    local name=$1 start=$SECONDS status
    shift
    echo "== $name"
    "$@"
    status=$?
    local minutes
    minutes=$(awk -v s=$((SECONDS - start)) 'BEGIN { printf "%.1f", s / 60 }')
    if [ $status -eq 0 ]; then results+=("$name: passed ($minutes min)"); else results+=("$name: FAILED ($minutes min)"); failed=1; fi
}
part "native (C, C++)" bash scripts/test-native.sh
part "python (installed wheel)" bash scripts/test-python.sh
part "onnx (ONNX Runtime vs ours)" bash scripts/test-onnx.sh
part "tsan (C API under ThreadSanitizer)" bash scripts/test-tsan.sh
part "C API test under ASan + UBSan" bash scripts/test-sanitizers.sh
part "fuzzing (a minute each)" bash scripts/fuzz.sh 60
part "benchmark harness (quick)" bash scripts/bench.sh --quick --budget 0.2 --out "${SVQ_SCRATCH_PATH:-.build}/bench-smoke"
part "quick start (run.sh)" bash scripts/run.sh

if [ -n "$summary" ]; then
    total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
    failures=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
    echo "swift: $((total - failures)) passed, $failures failed"
else
    echo "swift: no summary (status $swift_status)"
fi
printf '%s\n' "${results[@]}"
[ "$swift_status" -eq 0 ] && [ $failed -eq 0 ]
