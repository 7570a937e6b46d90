// Scratch folders for tests that write files.

import Foundation
import XCTest

/// A fresh empty directory under the system temporary directory; the caller removes it.
public func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("svq-tests-\(UUID().uuidString)",
                                                                            isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension XCTestCase {
    /// A fresh empty directory, removed when the test ends.
    public func temporaryDirectory() throws -> URL {
        let url = try makeTemporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
