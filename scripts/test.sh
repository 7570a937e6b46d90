#!/usr/bin/env bash
# Every test: install what is missing, build in release mode (the numerical tests are slow in debug),
# and run the Swift test suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --build-tests
swift test -c release --skip-build "$@"
