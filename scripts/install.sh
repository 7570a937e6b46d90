#!/usr/bin/env bash
# Builds libsvq (the runtime's C library) and installs it for C and C++ programs:
#   PREFIX/lib/libsvq.so, PREFIX/include/svq.h, PREFIX/lib/pkgconfig/svq.pc
# and, unless --no-swift-runtime, copies of the Swift runtime libraries libsvq.so needs, next to it.
# Then a C program builds with:  cc app.c $(pkg-config --cflags --libs svq)
# (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig if PREFIX is not a standard prefix).
#
# usage: scripts/install.sh PREFIX [--no-swift-runtime]
# env:   SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail

usage() { echo "usage: $0 PREFIX [--no-swift-runtime]" >&2; exit 2; }
[ $# -ge 1 ] || usage
prefix=$1
bundle_runtime=1
shift
for arg in "$@"; do
    case "$arg" in
        --no-swift-runtime) bundle_runtime=0 ;;
        *) usage ;;
    esac
done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)    # relative to where the script was called from
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}

# SwiftPM names the product's file libSVQRuntime.so (a product "svq" would clash with the svq tool).
swift build -c release --scratch-path "$scratch" --product SVQRuntime
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
ln -sf libSVQRuntime.so "$bin/libsvq.so"    # the in-tree name (the Python package looks for it)

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 755 "$bin/libSVQRuntime.so" "$prefix/lib/libsvq.so"
install -m 644 include/svq.h "$prefix/include/svq.h"
version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/SVQ/Runtime.swift)
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$prefix/lib|" -e "s|@INCLUDEDIR@|$prefix/include|" \
    -e "s|@VERSION@|$version|" svq.pc.in > "$prefix/lib/pkgconfig/svq.pc"

# The Swift runtime libraries are those ldd finds in the toolchain's directory (the one holding
# libswiftCore.so). libsvq.so's RUNPATH is "<that directory>:$ORIGIN": the toolchain's copies win while it
# is installed, and the copies next to libsvq.so are used where it is not.
runtime_dir=$(dirname "$(ldd "$prefix/lib/libsvq.so" | awk '$1 == "libswiftCore.so" { print $3 }')")
runtime_libs=$(ldd "$prefix/lib/libsvq.so" | awk -v dir="$runtime_dir/" 'index($3, dir) == 1 { print $3 }')
if [ "$bundle_runtime" = 1 ]; then
    for lib in $runtime_libs; do install -m 644 "$lib" "$prefix/lib/"; done
fi
if ldd "$prefix/lib/libsvq.so" | grep -q "not found"; then
    echo "install: libsvq.so has unresolved dependencies:" >&2
    ldd "$prefix/lib/libsvq.so" | grep "not found" >&2
    exit 1
fi

echo "installed libsvq $version in $prefix:"
echo "  lib/libsvq.so, include/svq.h, lib/pkgconfig/svq.pc"
if [ "$bundle_runtime" = 1 ]; then
    echo "  Swift runtime from $runtime_dir: $(for l in $runtime_libs; do basename "$l"; done | tr '\n' ' ')"
else
    echo "  Swift runtime: not copied; libsvq.so loads it from $runtime_dir"
fi
echo "build a program with: PKG_CONFIG_PATH=$prefix/lib/pkgconfig cc app.c \$(pkg-config --cflags --libs svq)"
