#!/usr/bin/env bash
# The C ABI from C and C++: installs libsvq into a scratch prefix (scripts/install.sh), checks the installed
# library (SONAME, exported symbols, a private Swift runtime), builds the C API tests (Tests/CAPI: test_capi.c,
# test_fork.c) and the C example against it with pkg-config and the C++ example with CMake (find_package(svq)),
# and runs them and the installed svq tool. Exits non-zero on any failure.
#
# Models: the C API test uses the official tiny test checkpoint with and without its prior (scripts/lib/
# test-models.sh; tiny, so its 8-thread check is quick). The examples use models/sprites.safetensors, or
# that tiny model until the default model exists.
#
# env: SVQ_SCRATCH_PATH  SwiftPM build directory (default .build)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${SVQ_SCRATCH_PATH:-.build}
work="$scratch/native-test"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

bash scripts/install.sh "$work/prefix"
lib="$work/prefix/lib"
fail() { echo "native: $*" >&2; exit 1; }

echo "== the installed library"
soname=$(readelf -d "$lib/libsvq.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libsvq.so.0 ] || fail "libsvq.so.0's SONAME is '$soname'"
[ "$(readlink "$lib/libsvq.so")" = libsvq.so.0 ] || fail "lib/libsvq.so is not a link to libsvq.so.0"
# Exported: exactly the functions svq.h declares (each declaration starts with SVQ_API), nothing else.
declared=$(grep -E '^SVQ_API' include/svq.h | sed -E 's/^[^(]*[^a-z0-9_](svq_[a-z0-9_]+)[[:space:]]*\(.*/\1/' | sort)
exported=$(nm -D --defined-only --extern-only "$lib/libsvq.so.0" | awk '{ print $NF }' | sort)
[ "$(wc -l <<<"$declared")" -ge 10 ] || fail "read too few declarations from svq.h: $declared"
diff <(echo "$declared") <(echo "$exported") >"$work/exports.diff" \
    || fail "libsvq.so.0 exports other symbols than svq.h declares (< declared, > exported):
$(head -n 20 "$work/exports.diff")"
# The Swift runtime lives in lib/svq/ only, and is what libsvq and svq load although the toolchain is here.
loose=$(find "$lib" -maxdepth 1 -name '*.so*' ! -name libsvq.so ! -name libsvq.so.0)
[ -z "$loose" ] || fail "libraries loose in PREFIX/lib: $loose"
for file in "$lib/libsvq.so.0" "$work/prefix/bin/svq"; do
    core=$(realpath "$(ldd "$file" | awk '$1 == "libswiftCore.so" { print $3 }')")
    [ "$core" = "$(realpath "$lib/svq/libswiftCore.so")" ] || fail "$file loads $core, not lib/svq/libswiftCore.so"
done
echo "SONAME libsvq.so.0; $(wc -l <<<"$exported") symbols exported, as svq.h declares; Swift runtime in lib/svq/"

# pkg-config as a C user runs it once svq.pc is installed (not exported: SwiftPM reads PKG_CONFIG_PATH too).
pc() { PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config "$@"; }

source scripts/lib/test-models.sh
model=models/sprites.safetensors
[ -f "$model" ] || model="$test_models/tiny.safetensors"

warnings=(-Wall -Wextra -Werror -pedantic -O2)
# shellcheck disable=SC2046  # pkg-config's output is meant to be split
cc -std=c99 "${warnings[@]}" Tests/CAPI/test_capi.c $(pc --cflags --libs svq) -lpthread -lm -o "$work/test_capi"
# shellcheck disable=SC2046
cc -std=c99 "${warnings[@]}" Tests/CAPI/test_fork.c $(pc --cflags --libs svq) -o "$work/test_fork"
# shellcheck disable=SC2046
cc -std=c99 "${warnings[@]}" examples/c/encode_decode.c $(pc --cflags --libs svq libpng) -o "$work/encode_decode"
cmake -S examples/cpp -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS="${warnings[*]}" >/dev/null
cmake --build "$work/cmake" >/dev/null

echo "== test_capi"
"$work/test_capi" "$test_models/tiny.safetensors" "$test_models/tiny-no-prior.safetensors"
echo "== test_fork"
"$work/test_fork" "$test_models/tiny.safetensors"
echo "== encode_decode ($model)"
"$work/encode_decode" "$model" examples/c/input.png "$work/out"
test -s "$work/out-recon.png"
echo "== svq_cpp_example, built with CMake ($model)"
"$work/cmake/svq_cpp_example" "$model"
echo "== svq (installed)"
"$work/prefix/bin/svq" info "$model"
echo "native: all passed"
