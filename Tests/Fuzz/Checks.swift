// What the C API harnesses assert about a call's outcome.

import CSVQ

func describe(_ status: svq_status) -> String {
    "status \(status.rawValue) (\(String(cString: svq_status_string(status)))): \(String(cString: svq_last_error()))"
}

func expectOK(_ status: svq_status, _ call: String) {
    precondition(status == SVQ_STATUS_OK, "\(call) failed on a valid call: \(describe(status))")
}

/// Every code in 0..<codebook_size.
func expectCodes(_ codes: [Int32], _ info: svq_info) {
    precondition(codes.allSatisfy { $0 >= 0 && $0 < info.codebook_size }, "a code outside 0..<\(info.codebook_size)")
}
