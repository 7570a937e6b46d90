#!/usr/bin/env bash
# Our runtime against ONNX Runtime on our exported graphs (bench/compare.py): builds svq and svq-bench
# (release), sets up .venv (numpy, onnxruntime, safetensors, pypng), then times encode, decode and prior
# sampling at batch 1 and 16 on both sides, one process per operation, and prints the ratio table.
#
#   ./scripts/bench.sh [--quick] [--threads N] [--out DIR]     (default: both cores, bench-out/)
#
# --quick measures the bundled model only (about a minute); without it, a random paper-clevr-easy model as
# well (about four to six minutes). Nothing else should run on the machine meanwhile.
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}
./scripts/setup.sh
swift build -c release --scratch-path "$scratch" --product svq
swift build -c release --scratch-path "$scratch" --product svq-bench
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/python -c "import numpy, onnxruntime, safetensors, png" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet numpy onnxruntime safetensors pypng
fi
exec .venv/bin/python bench/compare.py --svq "$bin/svq" --svq-bench "$bin/svq-bench" "$@"
