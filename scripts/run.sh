#!/usr/bin/env bash
# The main job: install what is missing, build in release mode everything the README's snippets use (the
# svq tool, libsvq, and the Python package as a wheel, installed into .venv with the ONNX demo's packages),
# and run the bundled model (models/sprites.safetensors): encode a generated 2D Sprites image to codes,
# decode the codes, step one object's shape and colour codes through every value, and sample new scenes
# from the semantic prior, into runs/demo/; then run the README's Python snippet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product svq    # libsvq: build-wheel.sh below
svq="$(swift build -c release --show-bin-path)/svq"
wheel=$(bash scripts/build-wheel.sh dist)
.venv/bin/python -m pip install --quiet --force-reinstall --no-deps "$wheel"
.venv/bin/python -m pip install --quiet numpy onnxruntime pypng
out=runs/demo
mkdir -p "$out"

"$svq" info models/sprites.safetensors
"$svq" data sprites --out "$out/images" --count 4 --seed 7 >/dev/null
echo "== encode $out/images/000000.png (one line per object, one code per factor)"
"$svq" encode "$out/images/000000.png" --json "$out/codes.json" --masks "$out/masks.png"
"$svq" decode "$out/codes.json" -o "$out/decoded.png"
# In the bundled model block 1 holds shape and block 2 colour; slot 1 holds this image's top-right object.
"$svq" edit "$out/images/000000.png" --slot 1 --block 1 -o "$out/edit-slot1-shape.png"
"$svq" edit "$out/images/000000.png" --slot 1 --block 2 -o "$out/edit-slot1-colour.png"
"$svq" sample -n 16 --seed 1 -o "$out/samples.png"
echo "outputs in $out: masks.png decoded.png edit-slot1-shape.png edit-slot1-colour.png samples.png"
echo "== the README's Python snippet, with the svq wheel in .venv ($wheel)"
awk '/^```python$/ { on = 1; next } /^```$/ && on { exit } on' README.md | .venv/bin/python -
echo "run: all done"
