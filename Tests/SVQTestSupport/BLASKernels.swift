// OpenBLAS picks its kernels by CPU, and kernels differ in the order they sum a dot product, so what the
// kernel OpenBLAS picks on one machine hides, another machine's may show: results that depended on the
// thread count agreed bit for bit under the generic kernel OpenBLAS picks on the machine the suite grew up
// on, and differed by up to 2e-6 under its Haswell kernel. `rerunUnderOtherBLASKernels` runs a test again
// under every other kernel this CPU can execute, in a child process (OpenBLAS reads OPENBLAS_CORETYPE once,
// when it loads).

import Foundation
import XCTest

/// OPENBLAS_CORETYPE names of the x86-64 kernels this CPU can run (from /proc/cpuinfo's flags).
public var runnableBLASKernels: [String] {
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
    let flags = Set(line.split(separator: " ").map(String.init))
    var kernels: [String] = []
    if flags.isSuperset(of: ["avx2", "fma"]) { kernels.append("Haswell") }
    if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { kernels.append("SkylakeX") }
    return kernels
}

extension XCTestCase {
    /// Runs `test` (`Module.Class/testMethod` of this test binary) in a child process under each of
    /// `runnableBLASKernels`, failing with the child's output where it fails. Does nothing in such a child.
    public func rerunUnderOtherBLASKernels(_ test: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        for kernel in runnableBLASKernels {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            child.arguments = [test]
            child.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_CORETYPE": kernel]) { $1 }
            let pipe = Pipe()
            child.standardOutput = pipe
            child.standardError = pipe
            try child.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            child.waitUntilExit()
            let ran = output.contains("Executed 1 test, with 0 failures")
            if child.terminationStatus != 0 || !ran {
                let failures = output.split(separator: "\n").filter { $0.contains("error") || $0.contains("Executed") }
                XCTFail("\(test) under OpenBLAS's \(kernel) kernels (OPENBLAS_CORETYPE=\(kernel)):\n"
                        + failures.prefix(20).map { String($0.prefix(300)) }.joined(separator: "\n"), file: file, line: line)
            }
        }
    }
}
