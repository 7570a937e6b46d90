import Foundation
import XCTest
import SafeTensors
import SVQTestSupport
#if canImport(Glibc)
import Glibc
#endif

final class AtomicWriteTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    func testWriteNewFileAndReadBack() throws {
        let url = directory.appendingPathComponent("model.safetensors")
        var writer = SafeTensorsWriter(metadata: ["k": "v"])
        try writer.add("w", floats: [1, 2, 3], shape: [3])
        try writer.write(to: url)

        XCTAssertEqual(try contents(), ["model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: url), try writer.serialize())
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(try file.floats("w"), [1, 2, 3])
        XCTAssertEqual(file.metadata, ["k": "v"])
    }

    func testOverwriteReplacesExistingFileAndKeepsPermissions() throws {
        let url = directory.appendingPathComponent("ckpt.safetensors")
        // Existing, larger file with restrictive permissions.
        var old = SafeTensorsWriter()
        try old.add("old", int64s: Array(0..<1000), shape: [1000])
        try old.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: url.path)

        var new = SafeTensorsWriter()
        try new.add("new", int32s: [5], shape: [1])
        try new.write(to: url)

        XCTAssertEqual(try contents(), ["ckpt.safetensors"], "no temporary files left behind")
        XCTAssertEqual(try Data(contentsOf: url), try new.serialize())
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["new"])
        XCTAssertEqual(try file.int32s("new"), [5])
        let permissions = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(permissions?.intValue, 0o640)
    }

    func testFailedWriteLeavesNothingBehind() throws {
        // Destination is a non-empty directory: rename fails after the temp file was written.
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data([1]).write(to: target.appendingPathComponent("keep"))

        var writer = SafeTensorsWriter()
        try writer.add("w", floats: [1], shape: [1])
        assertThrowsKind(.ioError, try writer.write(to: target))
        XCTAssertEqual(try contents(), ["occupied"], "temporary file removed after failure")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path), ["keep"])

        // Directory that does not exist.
        let missing = directory.appendingPathComponent("no/such/dir/x.safetensors")
        assertThrowsKind(.ioError, try writer.write(to: missing))
        XCTAssertEqual(try contents(), ["occupied"])

        // Non-file URL.
        assertThrowsKind(.ioError, try writer.write(to: URL(string: "https://example.com/x.safetensors")!))
    }

    /// A writer killed mid-write leaves its temporary file; the next write to the same file removes it —
    /// but not one a live writer holds (locked), nor anything that is not a temporary file of this target.
    func testStaleTemporaryFilesOfTheTargetAreRemoved() throws {
        let url = directory.appendingPathComponent("checkpoint.safetensors")
        let stale = ".checkpoint.safetensors.tmp-\(UUID().uuidString)"
        let live = ".checkpoint.safetensors.tmp-\(UUID().uuidString)"
        let others = [".model.safetensors.tmp-\(UUID().uuidString)", ".checkpoint.safetensors.tmp-notes",
                      "checkpoint.safetensors.tmp-\(UUID().uuidString)"]
        for name in [stale, live] + others {
            try Data(repeating: 7, count: 100).write(to: directory.appendingPathComponent(name))
        }
        // A writer still at work holds a lock on its temporary file.
        let held = open(directory.appendingPathComponent(live).path, O_RDONLY)
        XCTAssertEqual(flock(held, LOCK_EX), 0)
        defer { close(held) }

        var writer = SafeTensorsWriter()
        try writer.add("w", floats: [1, 2], shape: [2])
        try writer.write(to: url)
        XCTAssertEqual(try contents(), (["checkpoint.safetensors", live] + others).sorted())
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).floats("w"), [1, 2])
    }

    /// Writers at once to one file never remove each other's temporary files: every write succeeds.
    func testConcurrentWritersDoNotRemoveEachOthersTemporaries() throws {
        let url = directory.appendingPathComponent("shared.safetensors")
        final class Failures: @unchecked Sendable { let lock = NSLock(); var list: [String] = [] }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for step in 0..<25 {
                var writer = SafeTensorsWriter(metadata: ["writer": "\(t)"])
                do {
                    try writer.add("x", int64s: [Int64(step)], shape: [])
                    try writer.write(to: url)
                } catch {
                    failures.lock.lock(); failures.list.append("\(error)"); failures.lock.unlock()
                }
            }
        }
        XCTAssertEqual(failures.list, [])
        XCTAssertEqual(try contents(), ["shared.safetensors"])
    }

    func testRepeatedOverwritesLeaveSingleFile() throws {
        let url = directory.appendingPathComponent("loop.safetensors")
        for step in 0..<20 {
            var writer = SafeTensorsWriter(metadata: ["step": "\(step)"])
            try writer.add("x", int64s: [Int64(step)], shape: [])
            try writer.write(to: url)
        }
        XCTAssertEqual(try contents(), ["loop.safetensors"])
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata["step"], "19")
        XCTAssertEqual(try file.int64s("x"), [19])
    }
}
