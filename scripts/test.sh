#!/usr/bin/env bash
# Every test: install what is missing, build in release mode (the numerical tests are slow in debug),
# and run the Swift test suites. Ends with a plain "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --build-tests

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# All suites are XCTest; skip the empty Swift Testing pass so the summary below is the last word.
swift test -c release --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1)
total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
if [ -n "$summary" ]; then
    echo "swift: $((total - failed)) passed, $failed failed"
fi
exit "$status"
