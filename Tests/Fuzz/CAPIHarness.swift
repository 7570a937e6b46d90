// What the C API harnesses share: the library on one thread, and the checks on a call's outcome.

import CSVQ

/// libFuzzer runs one input at a time, and a thread team's spin-waits only cost time here.
@_cdecl("LLVMFuzzerInitialize")
public func initializeFuzzer(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    expectOK(svq_set_threads(1), "svq_set_threads")
    return 0
}

func describe(_ status: svq_status) -> String {
    "status \(status.rawValue) (\(String(cString: svq_status_string(status)))): \(String(cString: svq_last_error()))"
}

func expectOK(_ status: svq_status, _ call: String) {
    require(status == SVQ_STATUS_OK, "\(call) failed on a valid call: \(describe(status))")
}

/// Every code in 0..<codebook_size.
func expectCodes(_ codes: [Int32], _ info: svq_info) {
    require(codes.allSatisfy { $0 >= 0 && $0 < info.codebook_size }, "a code outside 0..<\(info.codebook_size)")
}
