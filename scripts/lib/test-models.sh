# Sourced by the test scripts (test-native.sh, test-python.sh, test-onnx.sh) from the repository root, with
# $scratch set to the SwiftPM build directory. Builds svq (release) and converts the official code's tiny
# test checkpoint (Tests/SVQModelsTests/Fixtures/nlotm-tiny) with `svq import-official` into one shared
# folder, so the scripts test the same files and a full run converts them once:
#   $test_models/tiny.safetensors           with its semantic prior
#   $test_models/tiny-no-prior.safetensors  the same without it
# A model is converted again only when svq or the fixture is newer than it. Sets $svq and $test_models.
# (No Python needed: the official state_dicts are stored as safetensors.)

swift build -c release --scratch-path "$scratch" --product svq
svq="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/svq"
test_models="$scratch/test-models"
mkdir -p "$test_models"
test_models=$(cd "$test_models" && pwd)

fixture=Tests/SVQModelsTests/Fixtures/nlotm-tiny

# import_fixture OUT [--prior FILE]: OUT from the fixture unless it is newer than svq and every input.
import_fixture() {
    local out=$1; shift
    local inputs=("$svq" "$fixture/svq_state_dict.safetensors" "$fixture/config.json")
    [ $# -gt 0 ] && inputs+=("$fixture/prior_state_dict.safetensors")
    if [ -f "$out" ]; then
        local stale=0 input
        for input in "${inputs[@]}"; do [ "$input" -nt "$out" ] && stale=1; done
        [ "$stale" = 0 ] && return 0
    fi
    "$svq" import-official --svq "$fixture/svq_state_dict.safetensors" "$@" --config "$fixture/config.json" -o "$out"
}
import_fixture "$test_models/tiny.safetensors" --prior "$fixture/prior_state_dict.safetensors"
import_fixture "$test_models/tiny-no-prior.safetensors"
