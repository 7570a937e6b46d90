// Named pipes for tests of file loading: opening a FIFO to read waits for a writer, so a loader that does
// not check the file type first would hang the suite. `withoutBlockingOnFIFO` bounds that wait.

import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

extension XCTestCase {
    /// A new FIFO (named pipe) in a fresh temporary directory, removed when the test ends.
    public func makeFIFO() throws -> URL {
        let url = try temporaryDirectory().appendingPathComponent("model.safetensors")
        guard mkfifo(url.path, 0o600) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return url
    }

    /// Runs `load` (which reads `fifo`) on another thread and returns the error it throws. If it has not
    /// returned within `seconds` it is blocked on the FIFO: the test fails, and the FIFO is opened for
    /// writing and closed again, which lets the blocked reader go on (it then reads an empty file).
    public func errorWithoutBlocking(on fifo: URL, seconds: Double = 10, _ load: @escaping @Sendable () throws -> Void,
                                     file: StaticString = #filePath, line: UInt = #line) -> (any Error)? {
        final class Outcome: @unchecked Sendable { var error: (any Error)? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Thread {
            do { try load() } catch { outcome.error = error }
            done.signal()
        }.start()
        if done.wait(timeout: .now() + seconds) == .timedOut {
            XCTFail("loading a FIFO blocked for \(seconds) s (it must be refused as not a regular file)", file: file, line: line)
            let writer = open(fifo.path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            done.wait()
        }
        return outcome.error
    }
}
