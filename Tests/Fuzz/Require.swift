// A harness's checks: a failed one stops the run with its message (precondition's is dropped under -O), which
// libFuzzer reports as a crash, with the input that caused it.

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
