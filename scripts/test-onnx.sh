#!/usr/bin/env bash
# The ONNX export, checked in ONNX Runtime: builds svq, exports test models with reference outputs, sets up
# .venv (numpy, onnx, onnxruntime, pytest, pypng) and runs pytest on tests/onnx. Exit status = the tests'.
#
# Exported models (docs/onnx.md, "Validation"):
#   - golden-tiny: the official code's tiny test model (Tests/SVQModelsTests/Fixtures/nlotm-tiny, converted
#     by scripts/lib/test-models.sh); also compared with the official code's own outputs;
#   - golden-tiny-no-prior: the same without its prior;
#   - cpu-sprites-random: a randomly initialised cpu-sprites model;
#   - sprites: the bundled model models/sprites.safetensors, when it exists.
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}
work="$scratch/onnx-test"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

source scripts/lib/test-models.sh

exports=()
export_model() {   # export_model NAME [MODEL] [options]: exports with reference outputs into $work/NAME
    local name=$1; shift
    "$svq" export-onnx "$@" "$work/$name" --write-reference-outputs --reference-batch 2 >/dev/null
    exports+=("$work/$name")
}
export_model golden-tiny "$test_models/tiny.safetensors"
export_model golden-tiny-no-prior "$test_models/tiny-no-prior.safetensors"
export_model cpu-sprites-random --random-preset cpu-sprites --seed 1
if [ -f models/sprites.safetensors ]; then
    export_model sprites models/sprites.safetensors
else
    echo "test-onnx: models/sprites.safetensors not found; testing without the bundled model"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
if ! .venv/bin/python -c "import numpy, onnx, onnxruntime, pytest, png" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet numpy onnx onnxruntime pytest pypng
fi

SVQ_ONNX_EXPORTS=$(IFS=:; echo "${exports[*]}") SVQ_ONNX_GOLDEN="$work/golden-tiny" \
    .venv/bin/python -m pytest -q tests/onnx "$@"
