# Sourced by scripts/fuzz.sh and scripts/test-sanitizers.sh from the repository root, with $scratch set to
# the SwiftPM build directory. Builds libSVQRuntime.so (the C library, with every Swift module it holds:
# SafeTensors, SVQ, SVQModels, SVQEngine, ...) with AddressSanitizer and libFuzzer's coverage instrumentation
# into its own build directory, $scratch/sanitized, so the normal build is neither rebuilt nor slowed.
# One build serves both scripts: the coverage hooks are inert without libFuzzer (the sanitizer runtime
# defines them). Swift has no UndefinedBehaviorSanitizer on Linux (swiftc refuses -sanitize=undefined), so
# UBSan applies to the C code that uses the library. Sets:
#   $sanitized_bin  the build's products: libSVQRuntime.so, and Modules/ for `import SafeTensors`
#   $sanitizer_cc   the toolchain's clang, whose sanitizer runtime is the one the library was built against

sanitized_scratch="$scratch/sanitized"
sanitized_flags=(-c release --scratch-path "$sanitized_scratch" -Xswiftc -sanitize=fuzzer,address)
swift build "${sanitized_flags[@]}" --product SVQRuntime
sanitized_bin=$(swift build "${sanitized_flags[@]}" --show-bin-path)
sanitizer_cc="$(dirname "$(readlink -f "$(command -v swiftc)")")/clang"
