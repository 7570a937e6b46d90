#!/usr/bin/env bash
# The main job: install what is missing, build in release mode, and run the engine benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
"$(swift build -c release --show-bin-path)/svq-bench" "$@"
