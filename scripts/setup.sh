#!/usr/bin/env bash
# Installs what the build needs and is missing: Debian packages (OpenBLAS, oneDNN, ONNX, protobuf, libpng).
# Idempotent and quiet when everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(libopenblas-dev libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler libpng-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }
