#!/usr/bin/env bash
# Installs the Debian packages that building, running and testing need and are missing: OpenBLAS, oneDNN,
# libpng and cairo (the package's system libraries, found with pkg-config), patchelf (scripts/install.sh, and
# auditwheel in build-wheel.sh, set RUNPATHs with it) and cmake (test-native.sh builds the C++ example with
# find_package(svq)). The tests also use a C and C++ compiler and python3 with venv, which the Swift machines
# come with. Further packages named as arguments are installed too (scripts/generate-onnx-proto.sh asks for
# the ONNX schema and protoc this way).
# Idempotent and quiet when everything is present. Needs root (or sudo) only when something is missing.
#
#   scripts/setup.sh [PACKAGE ...]
set -euo pipefail

packages=(libopenblas-dev libdnnl-dev libpng-dev libcairo2-dev pkg-config patchelf cmake "$@")
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
